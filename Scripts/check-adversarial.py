"""Outside check of the adversarial images that `advlab attack` keeps: loads an attack's output
folder (its chunks/ from `--chunk N`, or its pooled adversarial.npy with results.csv), and with
the checkpoint in its PyTorch twin checks every image against the test image it came from:

  - the perturbation stays within the threat model (‖δ‖∞ ≤ ε, or ‖δ‖₂ ≤ ε) and every pixel in [0, 1];
  - the twin's class on the adversarial image is the lab's (`adversarialPrediction`);
  - every example the lab counts as broken is misclassified by the twin (clean or adversarial).

It prints the robust accuracy that the twin gives on the lab's images, which can only be at or
above the lab's figure if the images are what the lab says. A failed check exits 1.

    /work/torch-venv/bin/python Scripts/check-adversarial.py --model checkpoints/classifier-robust.safetensors \\
        --folder measurements/autoattack-10k --eps 0.3 [--data ../shared/data/mnist] [--json]
"""
import argparse, csv, glob, json, os, sys
import numpy as np
import torch
from advlab_torch import load_challenge_cnn, read_idx

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--folder", required=True, help="an advlab attack --out folder")
parser.add_argument("--eps", type=float, required=True)
parser.add_argument("--norm", choices=["linf", "l2"], default="linf")
parser.add_argument("--data", default=os.environ.get("ADVLAB_DATA", "data/mnist"))
parser.add_argument("--json", action="store_true")
args = parser.parse_args()
torch.set_num_threads(1)


def parts(folder):
    """(results, images) per chunk in order, or the pooled outputs as one part."""
    chunk_files = sorted(glob.glob(os.path.join(folder, "chunks", "*", "chunk.json")))
    if chunk_files:
        for path in chunk_files:
            with open(path) as f:
                chunk = json.load(f)
            yield os.path.dirname(path), chunk["results"], np.load(os.path.join(os.path.dirname(path), "adversarial.npy"))
        return
    with open(os.path.join(folder, "results.csv")) as f:
        rows = list(csv.DictReader(f))
    results = [{"index": int(r["index"]), "label": int(r["label"]), "cleanPrediction": int(r["clean_prediction"]),
                "adversarialPrediction": int(r["adversarial_prediction"]), "success": r["success"] in ("1", "true")} for r in rows]
    yield folder, results, np.load(os.path.join(folder, "adversarial.npy"))


images_all = read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255
labels_all = read_idx(os.path.join(args.data, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
model = load_challenge_cnn(args.model)
failures, count, twin_robust, lab_robust, disagreements, largest = [], 0, 0, 0, 0, 0.0
# Float32 rounding of x + δ: the lab's own contract tests allow the same.
tolerance = 1e-6
for where, results, adversarial in parts(args.folder):
    if adversarial.shape[0] != len(results):
        failures.append(f"{where}: {adversarial.shape[0]} images for {len(results)} results")
        continue
    index = np.array([r["index"] for r in results])
    clean = images_all[index]
    labels = labels_all[index]
    delta = (adversarial - clean).reshape(len(results), -1)
    norms = np.abs(delta).max(1) if args.norm == "linf" else np.sqrt((delta.astype(np.float64) ** 2).sum(1))
    largest = max(largest, float(norms.max(initial=0)))
    for i in np.nonzero(norms > args.eps + tolerance)[0]:
        failures.append(f"{where}: test image {index[i]}: ‖δ‖ {norms[i]:.6f} > ε {args.eps}")
    if adversarial.min() < 0 or adversarial.max() > 1:
        failures.append(f"{where}: pixels outside [0, 1] ({adversarial.min()}, {adversarial.max()})")
    with torch.no_grad():
        clean_pred = model(torch.from_numpy(clean)).argmax(1).numpy()
        adv_pred = model(torch.from_numpy(adversarial.astype(np.float32))).argmax(1).numpy()
    for i, r in enumerate(results):
        if r["label"] != labels[i]:
            failures.append(f"{where}: test image {index[i]}: label {r['label']}, the test set says {labels[i]}")
        twin_ok = clean_pred[i] == labels[i] and adv_pred[i] == labels[i]
        lab_ok = r["cleanPrediction"] == r["label"] and r["adversarialPrediction"] == r["label"]
        twin_robust += int(twin_ok)
        lab_robust += int(lab_ok)
        if adv_pred[i] != r["adversarialPrediction"]:
            disagreements += 1
        if not lab_ok and twin_ok:
            failures.append(f"{where}: test image {index[i]}: the lab counts it broken, the twin classifies both images as {labels[i]}")
    count += len(results)

summary = {
    "images": count, "lab_robust_accuracy": lab_robust / max(1, count), "twin_robust_accuracy": twin_robust / max(1, count),
    "twin_disagreements": disagreements, "largest_norm": largest, "eps": args.eps, "norm": args.norm, "failures": failures[:20],
    "failure_count": len(failures),
}
if args.json:
    print(json.dumps(summary, indent=2))
else:
    print(f"{count} images: robust accuracy {summary['lab_robust_accuracy']:.4f} (lab), {summary['twin_robust_accuracy']:.4f} "
          f"(PyTorch twin on the lab's images); {disagreements} different classes; largest ‖δ‖ {largest:.6f} (ε {args.eps})")
    for line in failures[:20]:
        print("FAILED: " + line)
sys.exit(1 if failures else 0)
