"""PyTorch twins of advlab's networks and its MNIST reader, shared by the reference scripts
(pytorch-reference.py, torchattacks-reference.py, onnx-fixtures.py), which import it from this
folder: one definition of the challenge CNN, so the three cannot drift apart."""
import gzip, struct
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F


class ChallengeCNN(nn.Module):   # advlab's MNISTChallengeCNN (Sources/AdvModels/MNISTChallengeCNN.swift), same names and layouts
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 5, padding=2), nn.Conv2d(32, 64, 5, padding=2)
        self.fc1, self.fc2 = nn.Linear(3136, 1024), nn.Linear(1024, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def load_challenge_cnn(checkpoint):
    """The challenge CNN with the weights of an advlab classifier checkpoint (safetensors), in eval mode."""
    from safetensors.torch import load_file
    model = ChallengeCNN()
    state = load_file(checkpoint)
    model.load_state_dict({name: state[name] for name in model.state_dict()})
    return model.eval()


def read_idx(path):
    """A gzip'd IDX file: images as uint8 [N, 1, rows, cols], labels as uint8 [N]."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(count, 1, rows, cols)
    if magic == 2049:
        return np.frombuffer(data, np.uint8, offset=8)
    raise SystemExit(f"{path}: magic {magic} is neither 2051 (images) nor 2049 (labels)")


# advlab's ResNet AC-GAN (Sources/AdvModels/ResNetACGAN.swift), same names and layouts: a checkpoint's
# "generator." and "discriminator." tensors load as they are (spectral norm as torch.nn.utils.spectral_norm,
# whose weight_orig / weight_u / weight_v are the lab's names).
class ConditionalBatchNorm(nn.Module):
    def __init__(self, channels, classes=10):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.weight, self.bias = nn.Parameter(torch.ones(classes, channels)), nn.Parameter(torch.zeros(classes, channels))

    def forward(self, x, y):
        return self.norm(x) * self.weight[y][:, :, None, None] + self.bias[y][:, :, None, None]

    def _load_from_state_dict(self, state, prefix, *rest):
        for name in ("running_mean", "running_var"):   # the lab stores them beside weight and bias
            if prefix + name in state:
                state[prefix + "norm." + name] = state.pop(prefix + name)
        super()._load_from_state_dict(state, prefix, *rest)


class GeneratorBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.norm1, self.conv1 = ConditionalBatchNorm(channels), nn.Conv2d(channels, channels, 3, padding=1)
        self.norm2, self.conv2 = ConditionalBatchNorm(channels), nn.Conv2d(channels, channels, 3, padding=1)
        self.shortcut = nn.Conv2d(channels, channels, 1)

    def forward(self, x, y):
        h = self.conv1(F.interpolate(F.relu(self.norm1(x, y)), scale_factor=2, mode="nearest"))
        h = self.conv2(F.relu(self.norm2(h, y)))
        return h + F.interpolate(self.shortcut(x), scale_factor=2, mode="nearest")


class ResNetGenerator(nn.Module):
    def __init__(self, latent=128, channels=32):
        super().__init__()
        self.channels = channels
        self.project = nn.Linear(latent + 10, channels * 49)
        self.block1, self.block2 = GeneratorBlock(channels), GeneratorBlock(channels)
        self.output_norm, self.output_conv = nn.BatchNorm2d(channels), nn.Conv2d(channels, 1, 3, padding=1)

    def forward(self, z, y):
        h = self.project(torch.cat([z, F.one_hot(y, 10).float()], 1)).view(-1, self.channels, 7, 7)
        h = self.block2(self.block1(h, y), y)
        return torch.sigmoid(self.output_conv(F.relu(self.output_norm(h))))


class DiscriminatorBlock(nn.Module):
    def __init__(self, kind, inputs, channels):
        super().__init__()
        sn = nn.utils.spectral_norm
        self.kind = kind
        self.conv1, self.conv2 = sn(nn.Conv2d(inputs, channels, 3, padding=1)), sn(nn.Conv2d(channels, channels, 3, padding=1))
        self.shortcut = None if kind == "plain" and inputs == channels else sn(nn.Conv2d(inputs, channels, 1))

    def forward(self, x):
        h = self.conv2(F.relu(self.conv1(x))) if self.kind == "first" else self.conv2(F.relu(self.conv1(F.relu(x))))
        side = x
        if self.kind != "plain":
            h, side = F.avg_pool2d(h, 2), F.avg_pool2d(side, 2)
        return h + (self.shortcut(side) if self.shortcut is not None else side)


class ResNetDiscriminator(nn.Module):
    """The lab's ResNet discriminator: the critic head on the mean of the 7x7 map (spectrally
    normalised), the class head on the flattened map (not normalised), as in ResNetACGAN.swift.
    mean_pooled_class_head=True gives the earlier variant, for Scripts/aux-head-check.py."""
    def __init__(self, channels=32, mean_pooled_class_head=False):
        super().__init__()
        kinds = [("first", 1), ("down", channels), ("plain", channels), ("plain", channels)]
        for index, (kind, inputs) in enumerate(kinds):
            self.add_module(f"block{index + 1}", DiscriminatorBlock(kind, inputs, channels))
        self.mean_pooled_class_head = mean_pooled_class_head
        self.source_head = nn.utils.spectral_norm(nn.Linear(channels, 1))
        self.class_head = nn.Linear(channels if mean_pooled_class_head else channels * 49, 10)

    def forward(self, x):
        h = F.relu(self.block4(self.block3(self.block2(self.block1(x)))))
        pooled = h.mean((2, 3))
        return self.source_head(pooled), self.class_head(pooled if self.mean_pooled_class_head else h.flatten(1))


def load_resnet_acgan(checkpoint):
    """The ResNet AC-GAN's generator and discriminator with an advlab acgan checkpoint's weights, in eval mode."""
    from safetensors.torch import load_file
    state = load_file(checkpoint)
    generator, discriminator = ResNetGenerator(), ResNetDiscriminator()
    for prefix, model in (("generator.", generator), ("discriminator.", discriminator)):
        model.load_state_dict({name[len(prefix):]: tensor for name, tensor in state.items() if name.startswith(prefix)})
    return generator.eval(), discriminator.eval()
