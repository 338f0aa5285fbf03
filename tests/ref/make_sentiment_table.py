#!/usr/bin/python3
"""Writes the small synthetic two-class table (JSON lines: text, label, domain) that the end-to-end checks
import: filler words plus one to --max-cues cue words ("great" ... for label 1, "awful" ... for label 0).
The first --id-rows rows are the in-domain "news" domain, the rest the out-of-domain "forum" domain, where a
cue is drawn from both classes' words with probability 1 - --p-cue-ood (a shifted cue). Labels alternate.
The same arguments always give the same bytes (random.Random(--seed), and a draw only where one is needed).

usage: make_sentiment_table.py OUT --seed S --rows N --id-rows M [--words LO HI] [--max-cues K]
                               [--p-cue-id P] [--p-cue-ood P] [--p-cafe P] [--capitalize]
"""
import argparse
import json
import random

COMMON = "the a of and to in is it that was for on with as this".split()
POS = "great excellent wonderful superb loved brilliant enjoyable".split()
NEG = "awful terrible boring dreadful hated poor weak".split()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--id-rows", type=int, required=True, help="rows of the ID domain 'news'; the rest: 'forum'")
    ap.add_argument("--words", type=int, nargs=2, default=(8, 25), metavar=("LO", "HI"), help="filler words")
    ap.add_argument("--max-cues", type=int, default=3)
    ap.add_argument("--p-cue-id", type=float, default=1.0, help="probability that an ID cue is the label's")
    ap.add_argument("--p-cue-ood", type=float, default=0.6, help="probability that an OOD cue is the label's")
    ap.add_argument("--p-cafe", type=float, default=0.0, help="probability of a non-ASCII word 'Caf\u00e9!'")
    ap.add_argument("--capitalize", action="store_true", help="capitalise each text's first letter")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with open(args.out, "w") as f:
        for i in range(args.rows):
            label = i % 2
            domain = "news" if i < args.id_rows else "forum"
            cue = POS if label else NEG
            p_cue = args.p_cue_id if domain == "news" else args.p_cue_ood
            words = [rng.choice(COMMON) for _ in range(rng.randint(*args.words))]
            for _ in range(rng.randint(1, args.max_cues)):
                at = rng.randrange(len(words) + 1)
                # a probability of 1 draws nothing, so each configuration keeps its random stream
                own = p_cue >= 1 or rng.random() < p_cue
                words.insert(at, rng.choice(cue if own else POS + NEG))
            if args.p_cafe > 0 and rng.random() < args.p_cafe:
                words.append("Caf\u00e9!")  # non-ASCII word bytes and punctuation
            text = " ".join(words)
            f.write(json.dumps({"text": text.capitalize() if args.capitalize else text, "label": label,
                                "domain": domain}) + "\n")


if __name__ == "__main__":
    main()
