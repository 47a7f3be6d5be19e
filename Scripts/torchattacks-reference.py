"""Outside check of `advlab attack --method autoattack`: the committed classifier checkpoints
loaded into a PyTorch twin of MNISTChallengeCNN, attacked by torchattacks' APGD (CE), APGDT,
FAB (multi-targeted) and Square on the same first --count test images, stage by stage on the
examples still robust (as AutoAttack does), with the same JSON shape as advlab's summary.json.

    python3 -m venv /work/torch-venv && /work/torch-venv/bin/pip install torch torchattacks safetensors numpy
    /work/torch-venv/bin/python Scripts/torchattacks-reference.py --model checkpoints/classifier-robust.safetensors \
        --count 1000 --eps 0.3 --version standard [--advlab .build/release/advlab] [--json]

Budgets are AutoAttack's standard ones (Croce & Hein 2020, fra31/auto-attack): 100 iterations
for APGD, APGD-T (9 targets) and FAB-T (9 targets), 5,000 Square queries, one restart each.
torchattacks.AutoAttack itself runs APGD/APGDT/FAB with torchattacks' default of 10 steps, so
the stages are built here with `steps=100`. --version fast runs APGD-CE and APGD-T only.
With --advlab, the twin's clean accuracy on all 10,000 test images is compared with
`advlab eval`'s (they must agree within 0.0005), so the two frameworks attack the same model."""
import argparse, json, os, subprocess, sys, time
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F
import torchattacks
from advlab_torch import load_challenge_cnn, read_idx

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="checkpoints/classifier-robust.safetensors")
parser.add_argument("--data", default=os.environ.get("ADVLAB_DATA", "data/mnist"))
parser.add_argument("--count", type=int, default=1000)
parser.add_argument("--eps", type=float, default=0.3)
parser.add_argument("--norm", choices=["linf", "l2"], default="linf")
parser.add_argument("--version", default="standard", choices=["standard", "fast", "apgd-ce", "apgd-t", "fab-t", "square"])
parser.add_argument("--steps", type=int, default=100)
parser.add_argument("--queries", type=int, default=5000)
parser.add_argument("--batch", type=int, default=250)
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--advlab", help="advlab binary: compare the twin's clean accuracy with `advlab eval`")
parser.add_argument("--json", action="store_true")
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)


def predict(model, images, batch=1000):
    if len(images) == 0:
        return torch.zeros(0, dtype=torch.int64)
    with torch.no_grad():
        return torch.cat([model(images[i:i + batch]).argmax(1) for i in range(0, len(images), batch)])


images_all = torch.from_numpy(read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255)
labels_all = torch.from_numpy(read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))
model = load_challenge_cnn(args.model)
for p in model.parameters():
    p.requires_grad_(False)
clean_accuracy_10k = (predict(model, images_all) == labels_all).float().mean().item()
advlab_accuracy = None
if args.advlab:
    out = subprocess.run([args.advlab, "eval", "--model", args.model, "--data", args.data, "--json"],
                         capture_output=True, text=True, check=True).stdout
    advlab_accuracy = json.loads(out)["accuracy"]
    if abs(advlab_accuracy - clean_accuracy_10k) > 0.0005:
        raise SystemExit(f"twin clean accuracy {clean_accuracy_10k:.4f} differs from advlab eval's {advlab_accuracy:.4f}")

images, labels = images_all[:args.count].contiguous(), labels_all[:args.count].contiguous()
norm = "Linf" if args.norm == "linf" else "L2"
common = dict(norm=norm, eps=args.eps, seed=args.seed)
factories = {
    "apgd-ce": lambda: torchattacks.APGD(model, steps=args.steps, n_restarts=1, loss="ce", **common),
    "apgd-t": lambda: torchattacks.APGDT(model, steps=args.steps, n_restarts=1, n_classes=10, **common),
    "fab-t": lambda: torchattacks.FAB(model, steps=args.steps, n_restarts=1, multi_targeted=True, n_classes=10, **common),
    "square": lambda: torchattacks.Square(model, n_queries=args.queries, n_restarts=1, **common),
}
stage_names = {"standard": ["apgd-ce", "apgd-t", "fab-t", "square"], "fast": ["apgd-ce", "apgd-t"]}.get(args.version, [args.version])

clean_predictions = predict(model, images)
robust = clean_predictions == labels
adversarial = images.clone()
stages, violations = [], 0
for name in stage_names:
    attack = factories[name]()
    start, cpu_start = time.perf_counter(), time.process_time()
    attacked = robust.nonzero().flatten()
    for chunk in (attacked.split(args.batch) if len(attacked) else []):
        adv = attack(images[chunk], labels[chunk]).detach()
        delta = (adv - images[chunk]).flatten(1)
        size = delta.abs().max(1)[0] if args.norm == "linf" else delta.norm(dim=1)
        inside = (size <= args.eps + 1e-5) & (adv.flatten(1).min(1)[0] >= 0) & (adv.flatten(1).max(1)[0] <= 1)
        violations += int((~inside).sum())
        fooled = (predict(model, adv) != labels[chunk]) & inside
        adversarial[chunk[fooled]] = adv[fooled]
        robust[chunk[fooled]] = False
    seconds = time.perf_counter() - start
    stages.append(dict(name=name, robust_accuracy=robust.float().mean().item(), seconds=seconds,
                       cpu_seconds=time.process_time() - cpu_start,
                       attacked=len(attacked), robust=int(robust.sum())))
    print(f"{name}: robust {robust.float().mean().item():.4f} after {seconds:.1f} s on {len(attacked)} images", file=sys.stderr)

final = predict(model, adversarial)
delta = (adversarial - images).flatten(1)
l2 = delta.norm(dim=1)
success = final != labels
per_class = [((final == c) & (clean_predictions == c) & (labels == c)).sum().item() / max(1, (labels == c).sum().item()) for c in range(10)]
summary = dict(
    method="autoattack" if args.version in ("standard", "fast") else args.version, norm=args.norm, eps=args.eps,
    clean_accuracy=(clean_predictions == labels).float().mean().item(),
    robust_accuracy=((final == labels) & (clean_predictions == labels)).float().mean().item(),
    per_class_robust_accuracy=per_class, success_rate=success.float().mean().item(),
    max_linf=delta.abs().max().item(), max_l2=l2.max().item(),
    median_l2=l2[success].sort()[0][success.sum() // 2].item() if success.any() else 0.0,
    count=args.count, seed=args.seed,
    settings=dict(eps=args.eps, iterations=args.steps, restarts=1, target_classes=9, square_queries=args.queries),
    stages=stages, framework=f"torchattacks {torchattacks.__version__}, torch {torch.__version__}", threads=args.threads,
    version=args.version, batch=args.batch, model=args.model, clean_accuracy_10k=clean_accuracy_10k,
    advlab_eval_accuracy=advlab_accuracy, budget_violations=violations,
    seconds=sum(s["seconds"] for s in stages), cpu_seconds=sum(s["cpu_seconds"] for s in stages))
print(json.dumps(summary, indent=2) if args.json else
      f"{summary['method']} {args.version} {args.norm} ε {args.eps}: clean {summary['clean_accuracy']:.4f}, "
      f"robust {summary['robust_accuracy']:.4f} on {args.count} images in {summary['seconds']:.1f} s")
