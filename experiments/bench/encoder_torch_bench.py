"""encoder_torch_bench.py: the PyTorch peer of bench_encoder.c: the same encoder (pre-LN, tanh GELU, key
padding mask, [CLS] head, MLM head with tied decoder evaluated at masked positions only), the same batch
shape and objective (MLM + classification, dropout 0.1), AdamW with global-norm clipping.

Usage: /usr/bin/python3 encoder_torch_bench.py THREADS [STEPS]
Prints "torch threads=N tokens_per_s=... ms_per_step=... tokens_per_cpu_s=... peak_rss_mb=...".
"""
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

B, T, V, C, L, NH, FF, K, P = 32, 128, 8192, 128, 2, 4, 512, 2, 0.1


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.qkv, self.proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.fc, self.fcproj = nn.Linear(C, FF), nn.Linear(FF, C)

    def forward(self, x, keymask):
        b, t, _ = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=-1)
        q, k, v = (z.view(b, t, NH, C // NH).transpose(1, 2) for z in (q, k, v))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(C // NH)
        s = s.masked_fill(keymask, float("-inf"))
        a = F.dropout(torch.softmax(s, dim=-1), P, self.training)
        y = (a @ v).transpose(1, 2).reshape(b, t, C)
        x = x + F.dropout(self.proj(y), P, self.training)
        h = F.gelu(self.fc(self.ln2(x)), approximate="tanh")
        return x + F.dropout(self.fcproj(h), P, self.training)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(T, C)
        self.blocks = nn.ModuleList([Block() for _ in range(L)])
        self.lnf, self.cls = nn.LayerNorm(C), nn.Linear(C, K)
        self.mlm, self.mlmln = nn.Linear(C, C), nn.LayerNorm(C)
        self.mlmbias = nn.Parameter(torch.zeros(V))

    def forward(self, tokens, labels, targets):
        keymask = (tokens == 0)[:, None, None, :]
        x = self.wte(tokens) + self.wpe.weight[: tokens.shape[1]]
        for blk in self.blocks:
            x = blk(x, keymask)
        x = self.lnf(x)
        cls_loss = F.cross_entropy(self.cls(x[:, 0]), labels)
        flat = targets.reshape(-1)
        pos = torch.nonzero(flat >= 0).squeeze(1)
        h = self.mlmln(F.gelu(self.mlm(x.reshape(-1, C)[pos]), approximate="tanh"))
        mlm_loss = F.cross_entropy(h @ self.wte.weight.t() + self.mlmbias, flat[pos])
        return cls_loss + mlm_loss


def main():
    threads = int(sys.argv[1])
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Encoder().train()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-4)
    g = torch.Generator().manual_seed(7)
    tokens = torch.randint(5, V, (B, T), generator=g)
    masked = torch.rand(B, T, generator=g) < 0.15
    masked[:, 0] = False
    targets = torch.where(masked, tokens, torch.full_like(tokens, -1))
    tokens = torch.where(masked, torch.full_like(tokens, 3), tokens)
    labels = torch.randint(0, K, (B,), generator=g)
    t0 = cpu0 = 0.0
    for s in range(-2, steps):
        if s == 0:
            t0, cpu0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=False)
        loss = model(tokens, labels, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    dt = (time.perf_counter() - t0) / steps
    cpu = (time.process_time() - cpu0) / steps
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"torch threads={threads} tokens_per_s={B * T / dt:.0f} ms_per_step={1e3 * dt:.1f} tokens_per_cpu_s={B * T / cpu:.0f} "
          f"peak_rss_mb={rss:.0f} "
          f"loss={loss.item():.3f}")


if __name__ == "__main__":
    main()
