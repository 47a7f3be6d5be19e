"""Where a ResNet AC-GAN checkpoint's FCD comes from, in the PyTorch twin (checkpoints/README.md,
acgan-resnet): the Fréchet distance of the natural classifier's penultimate features split into its
mean and covariance terms, the same with the background haze removed, and the features' spread
(trace of the covariance) per class, generated against the test set. The twin draws its own z, so
its FCD is close to `advlab sample --metrics`', not equal.

    /work/torch-venv/bin/python Scripts/fcd-breakdown.py checkpoints/acgan-resnet.safetensors [MNIST folder]
(needs scipy in the venv.)"""
import os, sys, numpy as np, torch, scipy.linalg as sl
from advlab_torch import load_challenge_cnn, load_resnet_acgan, read_idx
import torch.nn.functional as F
torch.set_num_threads(1)
data = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("ADVLAB_DATA", "data/mnist")
nat = load_challenge_cnn(os.path.join(os.path.dirname(__file__), "..", "checkpoints", "classifier-natural.safetensors"))
def feats(x):
    out = []
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            h = x[i:i+1000]
            h = F.max_pool2d(F.relu(nat.conv1(h)), 2); h = F.max_pool2d(F.relu(nat.conv2(h)), 2)
            out.append(F.relu(nat.fc1(h.flatten(1))))
    return torch.cat(out).double().numpy()
def fcd(a, b):
    m1, m2 = a.mean(0), b.mean(0); c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    s = sl.sqrtm(c1 @ c2).real
    return ((m1-m2)**2).sum(), np.trace(c1 + c2 - 2*s)
test = torch.from_numpy(read_idx(os.path.join(data, "t10k-images-idx3-ubyte.gz")).astype(np.float32)/255)
train = torch.from_numpy(read_idx(os.path.join(data, "train-images-idx3-ubyte.gz"))[:10000].astype(np.float32)/255)
ft = feats(test)
print("train vs test", fcd(feats(train), ft))
g, _ = load_resnet_acgan(sys.argv[1])
gen = torch.Generator().manual_seed(0)
z = torch.randn(10000, 128, generator=gen); y = torch.arange(10000) % 10
with torch.no_grad():
    x = torch.cat([g(z[i:i+1000], y[i:i+1000]) for i in range(0, 10000, 1000)])
print("generated", fcd(feats(x), ft))
print("background: mean of pixels < 0.1:", x[x < 0.1].mean().item(), "test:", test[test < 0.1].mean().item())
xc = torch.where(x < 0.05, torch.zeros_like(x), x)
print("generated, pixels < 0.05 set to 0", fcd(feats(xc), ft))
print("mean ink: generated", x.mean().item(), "test", test.mean().item())
fg = feats(x)
print("trace cov: generated", np.trace(np.cov(fg, rowvar=False)), "test", np.trace(np.cov(ft, rowvar=False)))
# per class
lt = read_idx(os.path.join(data, "t10k-labels-idx1-ubyte.gz"))
for c in range(10):
    a = fg[(y == c).numpy()]; b = ft[lt == c]
    print(c, "trace gen %.1f test %.1f" % (np.trace(np.cov(a, rowvar=False)), np.trace(np.cov(b, rowvar=False))))
