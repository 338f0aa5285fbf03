"""encoder_torch.py: an independent PyTorch version of splinter's encoder, checked against a C dump.

Usage: /usr/bin/python3 encoder_torch.py dump.h5   (the dump is written by tests/test_encoder_dump with
SPLINTER_ENCODER_DUMP set). Exits 1 unless, against the C values:
  - classification and MLM logits, pooled activations: max|c - torch| / max|torch| <= 1e-4
  - both losses (dropout off and, with the C dropout masks, on): |c - torch| / |torch| <= 1e-4
  - every parameter gradient (dropout off and on): max|c - torch| / max|torch| <= 1e-3
  - the losses of 10 AdamW steps (warmup + cosine, clipping, decoupled decay): rel err <= 1e-4 each
The model is written from the math (pre-LN blocks, key padding mask, tanh GELU, LayerNorm eps 1e-5,
[CLS] head on the final LayerNorm, MLM head dense-GELU-LayerNorm-tied decoder at masked positions).
"""
import math
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)

NAMES = ["wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb", "ln2w", "ln2b", "fcw", "fcb",
         "fcprojw", "fcprojb", "lnfw", "lnfb", "clsw", "clsb", "mlmw", "mlmb", "mlmlnw", "mlmlnb", "mlmbias"]
NO_DECAY = {"ln1w", "ln1b", "qkvb", "attprojb", "ln2w", "ln2b", "fcb", "fcprojb", "lnfw", "lnfb", "clsb", "mlmb",
            "mlmlnw", "mlmlnb", "mlmbias"}


def forward(W, cfg, tokens, labels, targets, masks=None):
    """Returns cls logits [B,K], mlm logits [M,V], cls loss, mlm loss, per-depth residual streams."""
    B, T = tokens.shape
    C, NH, p = cfg["d_model"], cfg["n_heads"], cfg["dropout"]
    hs = C // NH
    valid = tokens != cfg["pad_id"]
    x = W["wte"][tokens] + W["wpe"][:T]
    depths = [x]
    for l in range(cfg["n_layers"]):
        h = F.layer_norm(x, (C,), W["ln1w"][l], W["ln1b"][l], eps=1e-5)
        qkv = h @ W["qkvw"][l].t() + W["qkvb"][l]
        q, k, v = qkv.split(C, dim=-1)
        q, k, v = (z.view(B, T, NH, hs).transpose(1, 2) for z in (q, k, v))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hs)
        scores = scores.masked_fill(~valid[:, None, None, :], float("-inf"))
        att = torch.softmax(scores, dim=-1)
        if masks is not None:
            att = att * masks["attn"][l] / (1 - p)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        y = y @ W["attprojw"][l].t() + W["attprojb"][l]
        if masks is not None:
            y = y * masks["attn_res"][l] / (1 - p)
        x = x + y
        h = F.layer_norm(x, (C,), W["ln2w"][l], W["ln2b"][l], eps=1e-5)
        h = F.gelu(h @ W["fcw"][l].t() + W["fcb"][l], approximate="tanh")
        y = h @ W["fcprojw"][l].t() + W["fcprojb"][l]
        if masks is not None:
            y = y * masks["mlp_res"][l] / (1 - p)
        x = x + y
        depths.append(x)
    xf = F.layer_norm(x, (C,), W["lnfw"], W["lnfb"], eps=1e-5)
    cls_logits = xf[:, 0, :] @ W["clsw"].t() + W["clsb"]
    cls_loss = F.cross_entropy(cls_logits, labels, ignore_index=-1)
    flat_t = targets.reshape(-1)
    pos = torch.nonzero(flat_t >= 0).squeeze(1)  # row-major order, as in C
    hm = xf.reshape(-1, C)[pos]
    hm = F.gelu(hm @ W["mlmw"].t() + W["mlmb"], approximate="tanh")
    hm = F.layer_norm(hm, (C,), W["mlmlnw"], W["mlmlnb"], eps=1e-5)
    mlm_logits = hm @ W["wte"].t() + W["mlmbias"]
    mlm_loss = F.cross_entropy(mlm_logits, flat_t[pos])
    return cls_logits, mlm_logits, cls_loss, mlm_loss, depths, valid


def lr_factor(t, a):
    """sp_adamw_lr / lr for the update with 0-based index t."""
    w, total, lo = a["warmup_steps"], a["total_steps"], a["min_lr_ratio"]
    if w > 0 and t < w:
        return (t + 1) / w
    progress = min(1.0, max(0.0, (t - w) / max(1, total - w)))
    return lo + (1 - lo) * 0.5 * (1 + math.cos(math.pi * progress))


def main(path):
    f = h5py.File(path, "r")
    cfg = {k: (float(v) if k == "dropout" else int(v)) for k, v in f.attrs.items()
           if k in ("vocab_size", "d_model", "n_layers", "n_heads", "d_ff", "max_len", "n_classes", "pad_id",
                    "dropout")}
    W0 = {n: torch.tensor(f["weights"][n][...]) for n in NAMES}
    tokens = torch.tensor(f["batch/tokens"][...]).long()
    labels = torch.tensor(f["batch/labels"][...]).long()
    targets = torch.tensor(f["batch/mlm_targets"][...]).long()
    failures = []

    def check(name, c, t, tol):
        c = np.asarray(c, dtype=np.float64)
        t = np.asarray(t, dtype=np.float64)
        if c.shape != t.shape:
            failures.append(f"{name}: shape {c.shape} vs {t.shape}")
            print(f"  {name:28s} SHAPE MISMATCH {c.shape} vs {t.shape}")
            return
        scale = max(np.abs(t).max(), 1e-30)
        err = np.abs(c - t).max() / scale
        ok = err <= tol
        print(f"  {name:28s} rel err {err:.3e} (tol {tol:.0e}){'' if ok else '  FAIL'}")
        if not ok:
            failures.append(f"{name}: {err:.3e} > {tol:.0e}")
        return err

    # dropout off: outputs and gradients
    W = {n: w.clone().requires_grad_(True) for n, w in W0.items()}
    cls_logits, mlm_logits, cls_loss, mlm_loss, depths, valid = forward(W, cfg, tokens, labels, targets)
    (cls_loss + mlm_loss).backward()
    print("dropout off:")
    check("cls logits", f["out/cls_logits"][...], cls_logits.detach(), 1e-4)
    check("mlm logits", f["out/mlm_logits"][...], mlm_logits.detach(), 1e-4)
    check("cls loss", f["out/cls_loss"][0], cls_loss.item(), 1e-4)
    check("mlm loss", f["out/mlm_loss"][0], mlm_loss.item(), 1e-4)
    stack = torch.stack(depths, dim=1).detach()  # [B, L+1, T, C]
    check("pooled [CLS]", f["out/pooled_cls"][...], stack[:, :, 0, :], 1e-4)
    vm = valid[:, None, :, None].float()
    check("pooled mean", f["out/pooled_mean"][...], (stack * vm).sum(2) / vm.sum(2), 1e-4)
    worst = 0.0
    for n in NAMES:
        worst = max(worst, check("grad " + n, f["grads"][n][...], W[n].grad, 1e-3))

    # dropout on, with the masks the C forward drew
    L, B, T = cfg["n_layers"], tokens.shape[0], tokens.shape[1]
    am = torch.tensor(f["dropout/attn"][...]).float()
    masks = {"attn": am.view(L, B, *am.shape[1:]),
             "attn_res": torch.tensor(f["dropout/attn_res"][...]).float(),
             "mlp_res": torch.tensor(f["dropout/mlp_res"][...]).float()}
    W = {n: w.clone().requires_grad_(True) for n, w in W0.items()}
    _, _, dcl, dml, _, _ = forward(W, cfg, tokens, labels, targets, masks)
    (dcl + dml).backward()
    print("dropout on (C masks):")
    check("cls loss", f["out/dropout_cls_loss"][0], dcl.item(), 1e-4)
    check("mlm loss", f["out/dropout_mlm_loss"][0], dml.item(), 1e-4)
    for n in NAMES:
        worst = max(worst, check("grad " + n, f["grads_dropout"][n][...], W[n].grad, 1e-3))

    # 10 AdamW steps, dropout off
    a = {k: f.attrs[k] for k in ("lr", "beta1", "beta2", "eps", "weight_decay", "min_lr_ratio", "clip_norm",
                                 "warmup_steps", "total_steps")}
    W = {n: w.clone().requires_grad_(True) for n, w in W0.items()}
    groups = [{"params": [W[n] for n in NAMES if n not in NO_DECAY], "weight_decay": float(a["weight_decay"])},
              {"params": [W[n] for n in NAMES if n in NO_DECAY], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=float(a["lr"]), betas=(float(a["beta1"]), float(a["beta2"])),
                            eps=float(a["eps"]))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: lr_factor(t, a))
    losses = []
    for _ in range(int(a["total_steps"])):
        opt.zero_grad()
        _, _, cl, ml, _, _ = forward(W, cfg, tokens, labels, targets)
        loss = cl + ml
        losses.append(loss.item())
        loss.backward()
        torch.nn.utils.clip_grad_norm_([W[n] for n in NAMES], float(a["clip_norm"]))
        opt.step()
        sched.step()
    print("AdamW steps:")
    c_losses = f["adamw/losses"][...]
    step_err = np.abs(c_losses - np.array(losses)) / np.abs(np.array(losses))
    print("  C     " + " ".join(f"{v:.6f}" for v in c_losses))
    print("  torch " + " ".join(f"{v:.6f}" for v in losses))
    print(f"  step losses max rel err {step_err.max():.3e} (tol 1e-04)")
    if step_err.max() > 1e-4:
        failures.append(f"AdamW step losses: {step_err.max():.3e} > 1e-4")
    wf = max(np.abs(f["weights_final"][n][...] - W[n].detach().numpy()).max() for n in NAMES)
    print(f"  final weights max abs diff {wf:.3e} (informative)")
    print(f"max gradient rel err {worst:.3e}")
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    print("encoder parity OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
