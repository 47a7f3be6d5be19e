"""How fast the ResNet AC-GAN discriminator's auxiliary (class) head can learn at all: the PyTorch
twin (advlab_torch.py) of each variant trained as a plain MNIST classifier for 300 Adam steps of
64 images (lr 2e-4, betas (0.5, 0.999), the GAN's settings), then its accuracy on 2,000 training
images. Minutes instead of an hour-long GAN run, to choose the lever before training in the lab
(issue 18; checkpoints/README.md, "Tried, not committed").

    ../torch-venv/bin/python Scripts/aux-head-check.py [MNIST_DIR]

Measured 2026-12-04 on the AMD EPYC (2 cores, avx2), one thread: spectral norm, 32 channels,
mean-pooled head 0.552; 64 channels 0.7015; 32 channels with the head on the flattened 7x7
features 0.930."""
import os, sys
import numpy as np
import torch, torch.nn.functional as F
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from advlab_torch import ResNetDiscriminator, read_idx

mnist = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ADVLAB_DATA", "data/mnist")
torch.manual_seed(0)
torch.set_num_threads(1)
x = torch.tensor(read_idx(f"{mnist}/train-images-idx3-ubyte.gz")[:20000], dtype=torch.float32) / 255
y = torch.tensor(read_idx(f"{mnist}/train-labels-idx1-ubyte.gz")[:20000].astype(np.int64))


for name, make in [("spectral norm, 32 channels, mean-pooled head", lambda: ResNetDiscriminator(32, True)),
                   ("spectral norm, 64 channels, mean-pooled head", lambda: ResNetDiscriminator(64, True)),
                   ("spectral norm, 32 channels, head on the flattened features (the lab's)", lambda: ResNetDiscriminator(32))]:
    torch.manual_seed(0)
    model = make()
    optimizer = torch.optim.Adam(model.parameters(), 2e-4, betas=(0.5, 0.999))
    for step in range(300):
        batch = torch.randint(0, 20000, (64,))
        loss = F.cross_entropy(model(x[batch])[1], y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = (model(x[:2000])[1].argmax(1) == y[:2000]).float().mean().item()
    print(f"{name}: accuracy after 300 steps {accuracy:.4f}", flush=True)
