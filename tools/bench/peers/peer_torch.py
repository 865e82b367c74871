#!/usr/bin/env python3
"""Peer timings for the reference workloads in tools/bench/WORKLOADS.md, in PyTorch on the CPU.

Run with Debian's PyTorch (python3-torch) and OpenBLAS (libopenblas0-pthread):
    /usr/bin/python3 tools/bench/peers/peer_torch.py [--threads 2] [--only W1,W3]
Prints one JSON object per line: {"workload", "impl", "seconds", "per_second", "unit"}.
Inputs are seeded random tensors: the timings depend only on shapes.
"""
import argparse, json, time
import torch
import torch.nn as nn
import torch.nn.functional as F


def timed(fn, warmup=2, reps=5):
    for _ in range(warmup):
        fn()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t) / reps


def emit(workload, impl, seconds, per_second, unit):
    print(json.dumps({"workload": workload, "impl": impl, "seconds": round(seconds, 5),
                      "per_second": round(per_second, 3), "unit": unit}), flush=True)


def conv_bn_relu(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


def lenet3x3(nf=32):
    # W1: three 3x3 conv-BN-ReLU stages with 3x3/2 max-pools, 28 -> 14 -> 7 -> 4, then a 2-layer head.
    layers = []
    for cin in (1, nf, nf):
        layers += conv_bn_relu(cin, nf) + [nn.MaxPool2d(3, 2, 1)]
    return nn.Sequential(*layers, nn.Flatten(), nn.Dropout(0.5), nn.Linear(nf * 16, 128),
                         nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))


class Basic(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); self.b2 = nn.BatchNorm2d(cout)
        self.sc = nn.Sequential()
        if stride != 1 or cin != cout:
            self.sc = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        return F.relu(self.b2(self.c2(y)) + self.sc(x))


def resnet18(nf=16, classes=10):
    # W2: the CIFAR ResNet-18 (3x3 stem, stages of 2 basic blocks at widths nf, 2nf, 4nf, 8nf).
    layers, cin = [nn.Conv2d(3, nf, 3, 1, 1, bias=False), nn.BatchNorm2d(nf), nn.ReLU()], nf
    for i, w in enumerate((nf, 2 * nf, 4 * nf, 8 * nf)):
        layers += [Basic(cin, w, 1 if i == 0 else 2), Basic(w, w, 1)]
        cin = w
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes))


def train_rate(name, model, shape, reps, batch=64):
    # reps: timed steps (and inference passes) after 2 warm-up ones (--w1-steps / --w2-steps)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, *shape, generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)
    model.train()

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    s = timed(step, 2, reps)
    emit(name, "torch-train", s, batch / s, "images/s")
    model.eval()
    with torch.no_grad():
        s = timed(lambda: model(x), 2, reps)
    emit(name, "torch-infer", s, batch / s, "images/s")


def dcor2(x, y):
    # V-statistic squared distance correlation via Gram-trick distances, float64.
    def centred(a):
        sq = (a * a).sum(1)
        d = (sq[:, None] + sq[None, :] - 2 * a @ a.T).clamp_min(0).sqrt()
        d.fill_diagonal_(0)
        return d - d.mean(0, keepdim=True) - d.mean(1, keepdim=True) + d.mean()
    A, B = centred(x), centred(y)
    return (A * B).mean() / ((A * A).mean() * (B * B).mean()).sqrt()


def unbiased_hsic_naive(K, L):
    # torch_cka's algorithm: diagonal zeroed, full n x n products.
    n = K.shape[0]
    K = K.clone(); L = L.clone(); K.fill_diagonal_(0); L.fill_diagonal_(0)
    one = torch.ones(n, 1, dtype=K.dtype)
    t = torch.trace(K @ L) + (one.T @ K @ one @ one.T @ L @ one) / ((n - 1) * (n - 2)) \
        - 2 / (n - 2) * (one.T @ K @ L @ one)
    return (t / (n * (n - 3))).item()


def cka_matrix_naive(fa, fb):
    # Per layer pair, recomputing Grams as torch_cka does (sum over minibatches, equal weights).
    m = torch.zeros(len(fa), len(fb), 3)
    for i, xa in enumerate(fa):
        for j, xb in enumerate(fb):
            for bx, by in zip(xa.split(64), xb.split(64)):
                K, L = bx @ bx.T, by @ by.T
                m[i, j, 0] += unbiased_hsic_naive(K, K)
                m[i, j, 1] += unbiased_hsic_naive(K, L)
                m[i, j, 2] += unbiased_hsic_naive(L, L)
    return m[:, :, 1] / (m[:, :, 0].sqrt() * m[:, :, 2].sqrt())


class TVBasic(nn.Module):
    # torchvision BasicBlock (one ReLU module applied twice, as torchvision does)
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + (x if self.downsample is None else self.downsample(x)))


class CifarResNet(nn.Module):
    # torchvision resnet18/34 adapted to 32x32 (3x3 stem, stride 1, no max-pool), width 64, named layerK.i
    def __init__(self, blocks, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False); self.bn1 = nn.BatchNorm2d(64); self.relu = nn.ReLU()
        cin = 64
        for k, (n, w) in enumerate(zip(blocks, (64, 128, 256, 512))):
            layer = nn.Sequential(*[TVBasic(cin if i == 0 else w, w, 2 if (i == 0 and k > 0) else 1) for i in range(n)])
            setattr(self, f"layer{k + 1}", layer)
            cin = w
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        for k in range(4):
            x = getattr(self, f"layer{k + 1}")(x)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def torch_cka_compare(model1, model2, layers1, layers2, loader):
    # torch_cka 0.21 CKA.compare, faithfully: forward hooks store each layer's output, both models run
    # per batch (grad on, as shipped), then for every (i, j) pair the Grams are rebuilt and _HSIC
    # (diagonal zeroed, full n x n products, .item()) accumulates hsic_matrix[i, j, 0..2] / num_batches.
    feats1, feats2 = {}, {}
    hooks = []
    for name, mod in model1.named_modules():
        if name in layers1:
            hooks.append(mod.register_forward_hook(lambda m, i, o, name=name: feats1.__setitem__(name, o)))
    for name, mod in model2.named_modules():
        if name in layers2:
            hooks.append(mod.register_forward_hook(lambda m, i, o, name=name: feats2.__setitem__(name, o)))
    model1.eval(); model2.eval()
    N, M = len(layers1), len(layers2)
    num_batches = len(loader)
    hsic = torch.zeros(N, M, 3)
    for x in loader:
        feats1.clear(); feats2.clear()
        model1(x); model2(x)
        for i, (_, f1) in enumerate(feats1.items()):
            X = f1.flatten(1)
            K = X @ X.t(); K.fill_diagonal_(0.0)
            hsic[i, :, 0] += unbiased_hsic_naive(K, K) / num_batches
            for j, (_, f2) in enumerate(feats2.items()):
                Y = f2.flatten(1)
                L = Y @ Y.t(); L.fill_diagonal_(0)
                hsic[i, j, 1] += unbiased_hsic_naive(K, L) / num_batches
                hsic[i, j, 2] += unbiased_hsic_naive(L, L) / num_batches
    for h in hooks:
        h.remove()
    return hsic[:, :, 1] / (hsic[:, :, 0].sqrt() * hsic[:, :, 2].sqrt())


W7_LAYERS18 = ["layer1.0", "layer1.1", "layer2.0", "layer2.1", "layer3.0", "layer3.1", "layer4.0", "layer4.1"]
W7_LAYERS34 = ["layer1.0", "layer1.2", "layer2.0", "layer2.3", "layer3.0", "layer3.5", "layer4.0", "layer4.2"]


def convnet(nf=16, classes=10):
    # W5/W6: the pdc-diverge cpu model: 3 x (conv3x3-BN-ReLU-maxpool2), widths nf/2nf/4nf, GAP, linear.
    layers, cin = [], 1
    for w in (nf, 2 * nf, 4 * nf):
        layers += [nn.Conv2d(cin, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2)]
        cin = w
    body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return body, nn.Linear(cin, classes)


def official_dc(x, y):
    # Diverge_Training/DC_criterion.py: F.normalize rows, broadcast distances + 1e-12, double centring, R^2.
    x = F.normalize(x); y = F.normalize(y)
    def centred(a):
        d = ((a[:, None, :] - a[None, :, :]) ** 2).sum(-1).add(1e-12).sqrt()
        return d - d.mean(0, keepdim=True) - d.mean(1, keepdim=True) + d.mean()
    A, B = centred(x), centred(y)
    return (A * B).mean() / ((A * A).mean() * (B * B).mean() + 1e-9).sqrt()


def diverge_step_rate(batch=128, alpha=0.05):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    body, head = convnet()
    controls = [convnet() for _ in range(2)]
    for b, h in controls:
        b.eval(); h.eval()
    params = list(body.parameters()) + list(head.parameters())
    opt = torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=5e-4)
    body.train(); head.train()

    def step():
        opt.zero_grad()
        f = body(x)
        with torch.no_grad():
            ctl = [b(x) for b, _ in controls]
        dc = sum(official_dc(f, c) for c in ctl) / len(ctl)
        (F.cross_entropy(head(f), y) + alpha * dc).backward()
        opt.step()
    s = timed(step)
    emit("W5 diverge-step convnet16 b128", "torch-train", s, batch / s, "images/s")


def pgd_rate(batch=128, eps=0.1, step=0.01, steps=40):
    # cleverhans projected_gradient_descent: rand_init, L-inf, labels = predictions, no clipping.
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 1, 28, 28, generator=g)
    body, head = convnet()
    model = nn.Sequential(body, head).eval()

    def attack():
        with torch.no_grad():
            yp = model(x).argmax(1)
        adv = x + torch.empty_like(x).uniform_(-eps, eps)
        for _ in range(steps):
            adv = adv.detach().requires_grad_(True)
            loss = F.cross_entropy(model(adv), yp)
            grad, = torch.autograd.grad(loss, adv)
            adv = x + (adv + step * grad.sign() - x).clamp(-eps, eps)
        return adv.detach()
    s = timed(attack, 1, 2)
    emit(f"W6 pgd{steps} convnet16 b128", "torch-attack", s, batch / s, "images/s")


class MineNet(nn.Module):
    # DTennant/dt-tradeoff mine.py MINE(input_size, hidden_size=1024): three hidden ReLU layers, N(0, 0.02) init
    def __init__(self, input_size, hidden=1024):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(input_size, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.fc4 = nn.Linear(hidden, 1)
        for fc in (self.fc1, self.fc2, self.fc3):
            nn.init.normal_(fc.weight, std=0.02)
            nn.init.constant_(fc.bias, 0)

    def forward(self, x):
        return self.fc4(F.relu(self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))))


def mine_iteration_rate(hidden=1024, p=3072, q=512, n=1000, batch=500):
    # mine.py learn_mine: a joint batch and a marginal batch (x and y indexed independently), the DV
    # bound with the moving-average-corrected gradient (ma_et detached: the leak fixed), Adam
    x, y = torch.randn(n, p), torch.randn(n, q)
    net = MineNet(p + q, hidden)
    opt = torch.optim.Adam(net.parameters(), lr=8e-5)
    state = {"ma": 1.0}

    def it():
        j = torch.randperm(n)[:batch]
        mx, my = torch.randperm(n)[:batch], torch.randperm(n)[:batch]
        t = net(torch.cat([x[j], y[j]], 1))
        et = torch.exp(net(torch.cat([x[mx], y[my]], 1)))
        state["ma"] = 0.99 * state["ma"] + 0.01 * et.mean().item()
        loss = -(t.mean() - (1 / state["ma"]) * et.mean())
        opt.zero_grad()
        loss.backward()
        opt.step()

    s = timed(it, 2, 10)
    emit(f"W8a MINE iteration hidden {hidden} batch 500 in {p}+{q}", "torch-mine-train", s, 1 / s, "iterations/s")


def plaincnn6(nf=16, classes=2):
    # @repro/models plaincnn depth 6: 2 conv-BN-ReLU per stage (nf, 2nf, 4nf), stride-2 stem, max-pool after stages 1-2
    layers, cin = [], 1
    for s, w in enumerate((nf, 2 * nf, 4 * nf)):
        for k in range(2):
            layers += [nn.Conv2d(cin, w, 3, stride=2 if s == 0 and k == 0 else 1, padding=1), nn.BatchNorm2d(w), nn.ReLU()]
            cin = w
        if s < 2:
            layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten()), nn.Linear(4 * nf, classes)


def ctc_stage2_rate(n_data=6000, k=1024, batch=128, T=0.1, m=0.9):
    # train_ctc.py stage 2: CE + NCE (CRD's ContrastMemory + ContrastLoss, both directions) against a
    # frozen snapshot, SGD momentum 0.9 wd 5e-4 on the network and both embeddings
    body, head = plaincnn6()
    snap_body, _ = plaincnn6()
    snap_body.eval()
    embed, embed_t = nn.Linear(64, 128), nn.Linear(64, 128)
    mem1 = F.normalize(torch.rand(n_data, 128), dim=1)
    mem2 = F.normalize(torch.rand(n_data, 128), dim=1)
    params = list(body.parameters()) + list(head.parameters()) + list(embed.parameters()) + list(embed_t.parameters())
    opt = torch.optim.SGD(params, lr=0.005, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, 1, 28, 28)
    y = torch.arange(batch) % 2
    labels = torch.arange(n_data) % 2
    neg = [torch.nonzero(labels != c).squeeze(1) for c in (0, 1)]
    Z = [None, None]

    def nce(out):
        mpn = k / n_data
        pos, negs = out[:, 0], out[:, 1:]
        return -(torch.log(pos / (pos + mpn + 1e-7)).sum() + torch.log(mpn / (negs + mpn + 1e-7)).sum()) / out.shape[0]

    def step():
        index = torch.randperm(n_data)[:batch]
        idx = torch.cat([index[:, None], torch.stack([neg[int(labels[i])][torch.randperm(len(neg[0]))[:k]] for i in index])], 1)
        with torch.no_grad():
            ft = snap_body(x)
        f = body(x)
        ce = F.cross_entropy(head(f), y)
        v1, v2 = F.normalize(embed(f), dim=1), F.normalize(embed_t(ft), dim=1)
        w1 = mem1[idx.view(-1)].view(batch, k + 1, 128)
        w2 = mem2[idx.view(-1)].view(batch, k + 1, 128)
        o2 = torch.exp(torch.bmm(w1, v2.view(batch, 128, 1)).squeeze(2) / T)
        o1 = torch.exp(torch.bmm(w2, v1.view(batch, 128, 1)).squeeze(2) / T)
        if Z[0] is None:
            Z[0], Z[1] = (o1.mean() * n_data).item(), (o2.mean() * n_data).item()
        loss = ce + nce(o1 / Z[0]) + nce(o2 / Z[1])
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            mem1[index] = F.normalize(m * mem1[index] + (1 - m) * v1, dim=1)
            mem2[index] = F.normalize(m * mem2[index] + (1 - m) * v2, dim=1)

    s = timed(step, 2, 5)
    emit(f"W8b CTC stage-2 step plaincnn6-nf16 28x28x1 b{batch} K={k} n={n_data}", "torch-ctc-train", s, batch / s, "images/s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="W1,W2,W3,W4,W5,W6,W7,W8")
    # timed W1 / W2 steps per call; bench.ts passes its W1_STEPS / W2_STEPS so both sides time the same
    ap.add_argument("--w1-steps", type=int, default=20)
    ap.add_argument("--w2-steps", type=int, default=10)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    only = set(a.only.split(","))
    if "W1" in only:
        train_rate("W1 lenet3x3-nf32 28x28x1 b64", lenet3x3(), (1, 28, 28), a.w1_steps)
    if "W2" in only:
        train_rate("W2 resnet18-nf16 32x32x3 b64", resnet18(), (3, 32, 32), a.w2_steps)
    if "W3" in only:
        for n in (1000, 2000, 4000):
            x = torch.randn(n, 512, dtype=torch.float64); y = torch.randn(n, 10, dtype=torch.float64)
            s = timed(lambda: dcor2(x, y), 1, 3)
            emit(f"W3 dcor2 n={n} 512x10", "torch-f64-gram", s, 1 / s, "calls/s")
    if "W4" in only:
        dims = [8192, 8192, 4096, 4096, 2048, 2048, 1024, 512]
        fa = [torch.randn(512, d) for d in dims]
        fb = [torch.randn(512, d) for d in dims]
        s = timed(lambda: cka_matrix_naive(fa, fb), 0, 1)
        emit("W4 minibatch-cka 8x8 layers n=512 b64", "torch-per-pair-naive", s, 1 / s, "matrices/s")
    if "W5" in only:
        diverge_step_rate()
    if "W7" in only:
        r18, r34 = CifarResNet([2, 2, 2, 2]), CifarResNet([3, 4, 6, 3])
        images = torch.randn(512, 3, 32, 32, generator=torch.Generator().manual_seed(0))
        loader = images.split(64)
        s = timed(lambda: torch_cka_compare(r18, r34, W7_LAYERS18, W7_LAYERS34, loader), 0, 1)
        emit("W7 compare resnet18-vs-resnet34 8x8 layers n=512 b64", "torch_cka-compare", s, 1 / s, "comparisons/s")

        def forwards():
            with torch.no_grad():
                for x in loader:
                    r18(x); r34(x)
        s = timed(forwards, 0, 1)
        emit("W7a forward passes only (resnet18 + resnet34) n=512 b64", "torch-forward", s, 1 / s, "passes/s")
    if "W6" in only:
        pgd_rate()
    if "W8" in only:
        mine_iteration_rate()
        ctc_stage2_rate()


if __name__ == "__main__":
    main()
