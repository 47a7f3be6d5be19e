"""PyTorch-on-CPU reference for `advlab bench`: the same networks and steps, the same counted
FLOPs and the same ratio (a workload's GFLOP/s over a 1024^3 sgemm's GFLOP/s, both measured in
this process), so the two efficiencies can be compared directly.

    python3 -m venv /tmp/torch && /tmp/torch/bin/pip install torch
    /tmp/torch/bin/python Scripts/pytorch-reference.py [--threads 2] [--iterations 20] [--seed 0]

Weights are random (speed does not depend on them) and PGD runs all 40 steps on every example
(advlab's stops fooled examples and counts only the evaluations that ran), so only the ratios
compare, not the robust accuracy. nearest_neighbors_70k is left out: it is one large GEMM in
either framework."""
import argparse, json, statistics, time
import torch, torch.nn as nn, torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode
from advlab_torch import ChallengeCNN, ResNetGenerator, ResNetDiscriminator

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=2)
parser.add_argument("--iterations", type=int, default=20)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--json", action="store_true")
parser.add_argument("--only", help="comma-separated workload names (default: all)")
parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="cpu: the process's CPU time, as advlab bench's ADVLAB_BENCH_CLOCK=cpu (one thread only)")
args = parser.parse_args()
if args.clock == "cpu" and args.threads != 1:
    parser.error("--clock cpu needs --threads 1: summed CPU time would hide an idle core")
clock = time.process_time if args.clock == "cpu" else time.perf_counter
torch.manual_seed(args.seed)
torch.set_num_threads(args.threads)


def gemm_flops(m, n, k):
    return 2.0 * m * n * k


def gemm_gflops():
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    best = float("inf")
    for _ in range(12):
        start = clock(); a @ b; best = min(best, clock() - start)
    return gemm_flops(1024, 1024, 1024) / best / 1e9


def median_seconds(body, iterations, warmup=2):
    for _ in range(warmup): body()
    times = []
    for _ in range(iterations):
        start = clock(); body(); times.append(clock() - start)
    return statistics.median(times)


class Generator(nn.Module):      # advlab's ACGANGenerator
    def __init__(self, latent=100):
        super().__init__()
        self.embedding, self.project = nn.Embedding(10, 10), nn.Linear(latent + 10, 128 * 49)
        self.norm0, self.up1 = nn.BatchNorm2d(128), nn.ConvTranspose2d(128, 64, 4, 2, 1)
        self.norm1, self.up2 = nn.BatchNorm2d(64), nn.ConvTranspose2d(64, 1, 4, 2, 1)

    def forward(self, z, classes):
        h = self.project(torch.cat([z, self.embedding(classes)], 1)).view(-1, 128, 7, 7)
        h = F.relu(self.norm1(self.up1(F.relu(self.norm0(h)))))
        return torch.sigmoid(self.up2(h))


class Discriminator(nn.Module):  # advlab's ACGANDiscriminator
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 64, 4, 2, 1), nn.Conv2d(64, 128, 4, 2, 1)
        self.norm2, self.source, self.classes = nn.BatchNorm2d(128), nn.Linear(6272, 1), nn.Linear(6272, 10)

    def forward(self, x):
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = F.leaky_relu(self.norm2(self.conv2(h)), 0.2).flatten(1)
        return self.source(h), self.classes(h)


# Counted FLOPs per image, exactly as Sources/AdvTraining/Benchmark*.swift count them.
CNN_FIRST = gemm_flops(32, 28 * 28, 25)
CNN = CNN_FIRST + gemm_flops(64, 14 * 14, 800) + gemm_flops(1, 1024, 3136) + gemm_flops(1, 10, 1024)
G_FIRST = gemm_flops(1, 128 * 49, 110)
G = G_FIRST + gemm_flops(64 * 16, 49, 128) + gemm_flops(16, 196, 64)
D_FIRST = gemm_flops(64, 196, 16)
D = D_FIRST + gemm_flops(128, 49, 64 * 16) + gemm_flops(1, 11, 128 * 49)


def classifier_train_step():
    model, batch = ChallengeCNN(), 128
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    images, labels = torch.rand(batch, 1, 28, 28), torch.arange(batch) % 10

    def step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()
    return (3 * CNN - CNN_FIRST) * batch, median_seconds(step, args.iterations)


def acgan_train_step():
    g, d, batch = Generator(), Discriminator(), 64
    og = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    real, labels = torch.rand(batch, 1, 28, 28), torch.arange(batch) % 10
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

    def step():
        classes, z = torch.randint(0, 10, (batch,)), torch.randn(batch, 100)
        with torch.no_grad():
            fake = g(z, classes)
        od.zero_grad(set_to_none=True)
        source, logits = d(real)
        (F.binary_cross_entropy_with_logits(source, ones) + F.cross_entropy(logits, labels)).backward()
        source, logits = d(fake)
        (F.binary_cross_entropy_with_logits(source, zeros) + F.cross_entropy(logits, classes)).backward()
        od.step()
        classes, z = torch.randint(0, 10, (batch,)), torch.randn(batch, 100)
        og.zero_grad(set_to_none=True)
        d.requires_grad_(False)
        source, logits = d(g(z, classes))
        (F.binary_cross_entropy_with_logits(source, ones) + F.cross_entropy(logits, classes)).backward()
        d.requires_grad_(True)
        og.step()
    flops = batch * ((G + 2 * (3 * D - D_FIRST)) + (3 * G - G_FIRST * 100 / 110) + 2 * D)
    return flops, median_seconds(step, args.iterations)


def counted_flops(body):
    """The FLOPs of the matrix products and convolutions (forward and backward) that one call of
    body runs, as advlab's FLOPCounter counts them."""
    with FlopCounterMode(display=False) as counter:
        body()
    return counter.get_total_flops()


def acgan_resnet_train_step():
    """advlab's acgan_resnet_train_step: one discriminator and one generator update of the ResNet
    AC-GAN with its default settings (hinge loss, Adam 2e-4, betas (0.5, 0.999))."""
    g, d, batch = ResNetGenerator(), ResNetDiscriminator(), 64
    og = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    real, labels = torch.rand(batch, 1, 28, 28), torch.arange(batch) % 10

    def step():
        classes, z = torch.randint(0, 10, (batch,)), torch.randn(batch, 128)
        with torch.no_grad():
            fake = g(z, classes)
        od.zero_grad(set_to_none=True)
        source, logits = d(real)
        (F.relu(1 - source).mean() + F.cross_entropy(logits, labels)).backward()
        source, _ = d(fake)
        F.relu(1 + source).mean().backward()
        od.step()
        classes, z = torch.randint(0, 10, (batch,)), torch.randn(batch, 128)
        og.zero_grad(set_to_none=True)
        d.requires_grad_(False)
        source, logits = d(g(z, classes))
        (-source.mean() + F.cross_entropy(logits, classes)).backward()
        d.requires_grad_(True)
        og.step()
    return counted_flops(step), median_seconds(step, args.iterations)


def pgd40_linf_1000():
    model = ChallengeCNN().eval().requires_grad_(False)
    images, labels = torch.rand(1000, 1, 28, 28), torch.arange(1000) % 10

    def attack():
        for lower in range(0, 1000, 250):
            x, y = images[lower:lower + 250], labels[lower:lower + 250]
            adv = (x + torch.empty_like(x).uniform_(-0.3, 0.3)).clamp(0, 1)
            for _ in range(40):
                adv.requires_grad_(True)
                gradient, = torch.autograd.grad(F.cross_entropy(model(adv), y, reduction="sum"), adv)
                adv = torch.min(torch.max(adv.detach() + 0.01 * gradient.sign(), x - 0.3), x + 0.3).clamp(0, 1)
            model(adv).argmax(1)
    return 1000 * 40 * 2 * CNN, median_seconds(attack, 1, warmup=1)


def latent_search_step():
    g, d, f = Generator().eval(), Discriminator().eval(), ChallengeCNN().eval()
    for module in (g, d, f): module.requires_grad_(False)
    z0 = torch.randn(100, 100)
    sources, targets = torch.arange(100) % 10, (torch.arange(100) + 1) % 10

    def step():
        z = z0.clone().requires_grad_(True)
        images = g(z, sources)
        loss = F.cross_entropy(f(images), targets) + 100 * F.relu((z - z0) ** 2 - 0.01).mean() \
            + 100 * F.cross_entropy(d(images)[1], sources)
        torch.autograd.grad(loss, z)
    return 100 * (2 * G + 2 * CNN + 2 * D), median_seconds(step, args.iterations)


results = {}
best_gemm = gemm_gflops()
for name, workload in [("classifier_train_step", classifier_train_step), ("acgan_train_step", acgan_train_step),
                       ("acgan_resnet_train_step", acgan_resnet_train_step),
                       ("pgd40_linf_1000", pgd40_linf_1000), ("latent_search_step", latent_search_step)]:
    if args.only and name not in args.only.split(","):
        continue
    best_gemm = max(best_gemm, gemm_gflops())
    flops, seconds = workload()
    results[name] = {"gflops": flops / seconds / 1e9, "ms_per_iteration": seconds * 1e3}
best_gemm = max(best_gemm, gemm_gflops())
for result in results.values():
    result["efficiency"] = result["gflops"] / best_gemm
summary = {"framework": f"torch {torch.__version__}", "threads": args.threads, "clock": args.clock, "seed": args.seed,
           "gemm_gflops": best_gemm, "workloads": results}
if args.json:
    print(json.dumps(summary, indent=2))
else:
    print(f"GEMM (1024^3 sgemm, {summary['framework']}, {args.threads} threads, {args.clock} clock): {best_gemm:.1f} GFLOP/s (best of the run)")
    for name, result in results.items():
        print(f"{name}: {result['gflops']:.1f} GFLOP/s, efficiency {result['efficiency']:.2f}, "
              f"{result['ms_per_iteration']:.2f} ms/iter")
