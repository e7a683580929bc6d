#!/usr/bin/env python3
"""A plain PyTorch LoRA training step, the reference `npm run bench -- --torch` puts beside entrotune's.

The model is a Llama / Qwen2 / Qwen3 decoder written directly in torch from a Hugging Face config.json
(no transformers, no peft): RMSNorm, RoPE (llama3 scaling too), grouped-query causal attention through
scaled_dot_product_attention, SwiGLU, q/k/v biases for Qwen2, q/k norms for Qwen3, a tied or untied
lm_head. Base weights are random and frozen; LoRA (r=8, alpha=16 by default) sits on q, k, v, o, gate,
up and down, A initialised as PEFT does and B zero. One step: forward, cross-entropy, backward,
gradient-norm clipping at 1.0, AdamW on the LoRA parameters only, and the loss read back (as
entrotune's trainStep does).

The batch is the bench's (tests/bench/training.ts benchBatch): token (b·7919 + t·104729 + 17) mod V.
--labels all trains every next-token position; --labels half trains the second half of each row only
and runs the lm_head on those positions alone, which is what entrotune's bench step does.

Tokens/s counts every token of the batch (B·T), like entrotune's. Base weights are dense in --dtype
unless --nf4 is given and bitsandbytes imports (then bnb.nn.Linear4bit NF4, as QLoRA; the embedding
and lm_head stay dense either way). The output says which.

    python3 tests/bench/torch-lora-step.py --config tests/fixtures/configs/SmolLM2-135M-Instruct.json --shape 4x512
    python3 tests/bench/torch-lora-step.py --check      # self-check on a tiny config (CPU, seconds)
"""

import argparse
import json
import math
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as err:  # the bench reads this line
    print(f"torch is not importable: {err}", file=sys.stderr)
    sys.exit(3)

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


# ---------------------------------------------------------------- config

def read_config(c):
    """The few numbers the decoder needs, from a Hugging Face config.json (as src/model/config.ts reads it)."""
    arch = (c.get("architectures") or [""])[0]
    kind = c.get("model_type") or ""
    if "Qwen3" in arch or kind == "qwen3":
        kind = "qwen3"
    elif "Qwen2" in arch or kind == "qwen2":
        kind = "qwen2"
    else:
        kind = "llama"
    C, NH = c["hidden_size"], c["num_attention_heads"]
    rs = c.get("rope_scaling") or c.get("rope_parameters")
    if rs and (rs.get("rope_type") or rs.get("type")) != "llama3":
        rs = None
    return {
        "kind": kind, "C": C, "L": c["num_hidden_layers"], "NH": NH,
        "NKV": c.get("num_key_value_heads") or NH, "HS": c.get("head_dim") or C // NH,
        "F": c["intermediate_size"], "V": c["vocab_size"], "theta": float(c.get("rope_theta", 10000.0)),
        "eps": float(c.get("rms_norm_eps", 1e-6)), "tie": bool(c.get("tie_word_embeddings", False)),
        "qkv_bias": kind == "qwen2", "qk_norm": kind == "qwen3", "rope_scaling": rs,
    }


TINY = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 97,
        "rope_theta": 10000.0, "rms_norm_eps": 1e-6, "tie_word_embeddings": False}


# ---------------------------------------------------------------- model

def rope_tables(cfg, T, device):
    HS = cfg["HS"]
    inv = 1.0 / (cfg["theta"] ** (torch.arange(0, HS, 2, dtype=torch.float64) / HS))
    rs = cfg["rope_scaling"]
    if rs:  # llama3: long wavelengths divided by factor, a smooth blend between
        factor, lo, hi = rs["factor"], rs.get("low_freq_factor", 1.0), rs.get("high_freq_factor", 4.0)
        old = rs.get("original_max_position_embeddings", 8192)
        wavelen = 2 * math.pi / inv
        smooth = ((old / wavelen) - lo) / (hi - lo)
        scaled = torch.where(wavelen > old / lo, inv / factor, inv)
        mid = (wavelen <= old / lo) & (wavelen >= old / hi)
        inv = torch.where(mid, (1 - smooth) * inv / factor + smooth * inv, scaled)
    ang = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    ang = torch.cat([ang, ang], dim=-1)
    return ang.cos().to(device), ang.sin().to(device)


def apply_rope(x, cos, sin):
    half = x.shape[-1] // 2
    rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos.to(x.dtype) + rot * sin.to(x.dtype)


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n), requires_grad=False)
        self.eps = eps

    def forward(self, x):
        x32 = x.float()
        y = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return (y * self.weight.float()).to(x.dtype)


class LoraLinear(nn.Module):
    """A frozen base linear plus (alpha/r)·B·A·x, A as PEFT draws it (Kaiming-uniform, a=√5) and B zero."""

    def __init__(self, base, n_in, n_out, r, alpha, dtype, device):
        super().__init__()
        self.base = base
        self.lora_A = nn.Parameter(torch.empty(r, n_in, dtype=dtype, device=device))
        self.lora_B = nn.Parameter(torch.zeros(n_out, r, dtype=dtype, device=device))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scale = alpha / r
        self.enabled = True

    def forward(self, x):
        y = self.base(x)
        if self.enabled:
            y = y + F.linear(F.linear(x, self.lora_A), self.lora_B) * self.scale
        return y


class Builder:
    """Makes frozen base linears: dense nn.Linear, or bitsandbytes NF4 when asked and importable."""

    def __init__(self, dtype, device, nf4, gen):
        self.dtype, self.device, self.gen = dtype, device, gen
        self.bnb = None
        self.base = f"dense {dtype_name(dtype)}"
        if nf4:
            try:
                import bitsandbytes as bnb  # noqa: F401 (optional)
                if device.type != "cuda":
                    raise RuntimeError("bitsandbytes NF4 here needs CUDA")
                self.bnb = bnb
                self.base = f"nf4 (bitsandbytes {bnb.__version__}, compute {dtype_name(dtype)})"
            except ImportError:  # absent: dense, and say so
                self.base = f"dense {dtype_name(dtype)} (no NF4: bitsandbytes is not installed)"
            except Exception as err:  # unusable: likewise
                self.base = f"dense {dtype_name(dtype)} (no NF4: bitsandbytes {type(err).__name__}: {err})"

    def weight(self, *shape):
        # The synthetic bench model's spread: uniform in ±0.03.
        w = torch.empty(*shape, dtype=torch.float32, device=self.device)
        w.uniform_(-0.03, 0.03, generator=self.gen)
        return w

    def linear(self, n_in, n_out, bias):
        w = self.weight(n_out, n_in)
        b = self.weight(n_out) if bias else None
        if self.bnb is not None:
            lin = self.bnb.nn.Linear4bit(n_in, n_out, bias=bias, compute_dtype=self.dtype, quant_type="nf4", device="cpu")
            lin.weight = self.bnb.nn.Params4bit(w.to(torch.bfloat16).cpu(), requires_grad=False, quant_type="nf4")
            if bias:
                lin.bias = nn.Parameter(b.to(self.dtype).cpu(), requires_grad=False)
            return lin.to(self.device)  # quantises on the move to CUDA
        lin = nn.Linear(n_in, n_out, bias=bias, device="meta")
        lin.weight = nn.Parameter(w.to(self.dtype), requires_grad=False)
        if bias:
            lin.bias = nn.Parameter(b.to(self.dtype), requires_grad=False)
        return lin


class Layer(nn.Module):
    def __init__(self, cfg, mk, r, alpha):
        super().__init__()
        C, NH, NKV, HS, Fi = cfg["C"], cfg["NH"], cfg["NKV"], cfg["HS"], cfg["F"]
        self.cfg = cfg

        def lora(n_in, n_out, bias=False):
            return LoraLinear(mk.linear(n_in, n_out, bias), n_in, n_out, r, alpha, mk.dtype, mk.device)

        self.input_layernorm = RMSNorm(C, cfg["eps"]).to(mk.device)
        self.post_attention_layernorm = RMSNorm(C, cfg["eps"]).to(mk.device)
        self.q_proj = lora(C, NH * HS, cfg["qkv_bias"])
        self.k_proj = lora(C, NKV * HS, cfg["qkv_bias"])
        self.v_proj = lora(C, NKV * HS, cfg["qkv_bias"])
        self.o_proj = lora(NH * HS, C)
        if cfg["qk_norm"]:
            self.q_norm = RMSNorm(HS, cfg["eps"]).to(mk.device)
            self.k_norm = RMSNorm(HS, cfg["eps"]).to(mk.device)
        self.gate_proj = lora(C, Fi)
        self.up_proj = lora(C, Fi)
        self.down_proj = lora(Fi, C)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        NH, NKV, HS = self.cfg["NH"], self.cfg["NKV"], self.cfg["HS"]
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(B, T, NH, HS)
        k = self.k_proj(h).view(B, T, NKV, HS)
        v = self.v_proj(h).view(B, T, NKV, HS).transpose(1, 2)
        if self.cfg["qk_norm"]:
            q, k = self.q_norm(q), self.k_norm(k)
        q = apply_rope(q.transpose(1, 2), cos, sin)
        k = apply_rope(k.transpose(1, 2), cos, sin)
        if NKV != NH:  # grouped-query attention: each K/V head serves NH/NKV query heads
            k = k.repeat_interleave(NH // NKV, dim=1)
            v = v.repeat_interleave(NH // NKV, dim=1)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.o_proj(a.transpose(1, 2).reshape(B, T, NH * HS))
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Decoder(nn.Module):
    def __init__(self, cfg, mk, r, alpha, T):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Parameter(mk.weight(cfg["V"], cfg["C"]).to(mk.dtype), requires_grad=False)
        self.layers = nn.ModuleList(Layer(cfg, mk, r, alpha) for _ in range(cfg["L"]))
        self.norm = RMSNorm(cfg["C"], cfg["eps"]).to(mk.device)
        self.lm_head = self.embed if cfg["tie"] else nn.Parameter(mk.weight(cfg["V"], cfg["C"]).to(mk.dtype), requires_grad=False)
        self.cos, self.sin = rope_tables(cfg, T, mk.device)

    def hidden(self, ids):
        x = F.embedding(ids, self.embed)
        T = ids.shape[1]
        for layer in self.layers:
            x = layer(x, self.cos[:T], self.sin[:T])
        return self.norm(x)

    def loss(self, ids, first):
        """Mean cross-entropy of the next token at positions first … T−2 of every row (lm_head on those alone)."""
        h = self.hidden(ids)[:, first:-1]
        logits = F.linear(h, self.lm_head).float()
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, first + 1:].reshape(-1))

    def lora_params(self):
        return [p for n, p in self.named_parameters() if "lora_" in n]

    def set_lora(self, on):
        for m in self.modules():
            if isinstance(m, LoraLinear):
                m.enabled = on


def dtype_name(d):
    return {torch.float32: "f32", torch.bfloat16: "bf16", torch.float64: "f64"}[d]


def bench_ids(V, B, T, device):
    b = torch.arange(B, dtype=torch.int64)[:, None]
    t = torch.arange(T, dtype=torch.int64)[None, :]
    return ((b * 7919 + t * 104729 + 17) % V).to(device)


def make_step(model, opt, params, ids, first, clip):
    def step():
        loss = model.loss(ids, first)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item(), float(norm)  # the readback entrotune's trainStep does too
    return step


# ---------------------------------------------------------------- run

def run(args):
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16}[args.dtype]
    cuda = device.type == "cuda"
    if args.steps is None:
        args.steps = 10 if cuda else 2
    if args.warmup is None:
        args.warmup = 3 if cuda else 1
    B, T = (int(x) for x in args.shape.lower().split("x"))
    with open(args.config) as f:
        cfg = read_config(json.load(f))
    first = T // 2 - 1 if args.labels == "half" else 0
    if T < 2 or first < 0:
        raise SystemExit("--shape: T must be at least 2")
    torch.manual_seed(0)
    gen = torch.Generator(device=device).manual_seed(0)
    mk = Builder(dtype, device, args.nf4, gen)
    t0 = time.perf_counter()
    model = Decoder(cfg, mk, args.r, args.alpha, T)
    params = model.lora_params()
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    ids = bench_ids(cfg["V"], B, T, device)
    step = make_step(model, opt, params, ids, first, 1.0)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    load_s = time.perf_counter() - t0
    losses = []
    for _ in range(args.warmup):
        losses.append(step()[0])
    ms = []
    for _ in range(args.steps):
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            losses.append(step()[0])
            end.record()
            end.synchronize()
            ms.append(start.elapsed_time(end))
        else:
            t1 = time.perf_counter()
            losses.append(step()[0])
            ms.append((time.perf_counter() - t1) * 1000)
    mean = statistics.fmean(ms)
    name = args.config.rsplit("/", 1)[-1]
    out = {
        "tool": "torch-lora-step.py", "model": name[:-5] if name.endswith(".json") and name != "config.json" else args.config,
        "torch": torch.__version__, "device": torch.cuda.get_device_name(device) if cuda else "cpu",
        "deviceType": device.type, "threads": torch.get_num_threads(), "dtype": args.dtype, "base": mk.base,
        "tf32": bool(torch.backends.cuda.matmul.allow_tf32) if cuda else False,
        "batch": f"{B}×{T}", "labels": args.labels, "trainedPositions": B * (T - 1 - first),
        "r": args.r, "alpha": args.alpha, "loraParameters": sum(p.numel() for p in params),
        "warmup": args.warmup, "steps": args.steps, "loadSeconds": load_s,
        "msPerStep": mean, "msPerStepMedian": statistics.median(ms), "msPerStepMin": min(ms),
        "tokensPerSecond": B * T / (mean / 1000), "losses": losses,
        "peakMemoryBytes": torch.cuda.max_memory_allocated(device) if cuda else None,
    }
    print(f"torch {out['torch']} on {out['device']}, {out['model']}, {out['batch']}, {args.dtype}, base {mk.base}, "
          f"LoRA r={args.r}: {mean:.1f} ms/step (median {out['msPerStepMedian']:.1f}, {args.steps} timed after {args.warmup} warm-up), "
          f"{out['tokensPerSecond']:.1f} tokens/s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")
    return out


def check():
    """Asserts on a tiny Qwen2-shaped model in float64 on the CPU: B = 0 leaves the base model's output,
    attention is causal, GQA matches a per-head reference, and LoRA steps lower the loss."""
    torch.manual_seed(0)
    cfg = read_config(TINY)
    dev = torch.device("cpu")
    mk = Builder(torch.float64, dev, False, torch.Generator().manual_seed(0))
    B, T = 2, 12
    model = Decoder(cfg, mk, 8, 16, T)
    ids = bench_ids(cfg["V"], B, T, dev)
    with torch.no_grad():
        with_lora = model.hidden(ids)
        model.set_lora(False)
        base = model.hidden(ids)
        model.set_lora(True)
    assert torch.equal(with_lora, base), "B starts at zero, so the adapted model's output must equal the base model's"
    assert all(not p.detach().any() for n, p in model.named_parameters() if "lora_B" in n)
    assert all(p.detach().all() for n, p in model.named_parameters() if "lora_A" in n)

    # Causal: changing the last token leaves every earlier position alone.
    ids2 = ids.clone()
    ids2[:, -1] = (ids2[:, -1] + 1) % cfg["V"]
    with torch.no_grad():
        h2 = model.hidden(ids2)
    assert torch.allclose(h2[:, :-1], base[:, :-1], atol=1e-12) and not torch.allclose(h2[:, -1], base[:, -1])

    # Attention of layer 0 against a per-head softmax written out by hand.
    layer = model.layers[0]
    x = F.embedding(ids, model.embed)
    with torch.no_grad():
        h = layer.input_layernorm(x)
        NH, NKV, HS = cfg["NH"], cfg["NKV"], cfg["HS"]
        q = apply_rope(layer.q_proj(h).view(B, T, NH, HS).transpose(1, 2), model.cos[:T], model.sin[:T])
        k = apply_rope(layer.k_proj(h).view(B, T, NKV, HS).transpose(1, 2), model.cos[:T], model.sin[:T])
        v = layer.v_proj(h).view(B, T, NKV, HS).transpose(1, 2)
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
        heads = []
        for hd in range(NH):
            kv = hd // (NH // NKV)
            s = q[:, hd] @ k[:, kv].transpose(-1, -2) / math.sqrt(HS)
            heads.append(torch.softmax(s.masked_fill(mask, -math.inf), -1) @ v[:, kv])
        want = x + layer.o_proj(torch.stack(heads, 1).transpose(1, 2).reshape(B, T, NH * HS))
        h = layer.post_attention_layernorm(want)
        want = want + layer.down_proj(F.silu(layer.gate_proj(h)) * layer.up_proj(h))
        got = layer(x, model.cos[:T], model.sin[:T])
    assert torch.allclose(got, want, atol=1e-10), f"layer 0 differs from the reference by {float((got - want).abs().max())}"

    # Training: only LoRA parameters move, and the loss falls.
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" not in n}
    params = model.lora_params()
    assert all(p.requires_grad for p in params) and not any(p.requires_grad for n, p in model.named_parameters() if "lora_" not in n)
    opt = torch.optim.AdamW(params, lr=1e-2, weight_decay=0.0)
    step = make_step(model, opt, params, ids, T // 2 - 1, 1.0)
    losses = [step()[0] for _ in range(8)]
    assert losses[-1] < losses[0] - 0.1, f"LoRA steps should lower the loss: {losses}"
    assert all(torch.equal(p, frozen[n]) for n, p in model.named_parameters() if "lora_" not in n), "a base weight moved"
    assert all(p.detach().any() for n, p in model.named_parameters() if "lora_B" in n), "a LoRA B stayed zero"
    print(f"check passed: B=0 gives the base model's output, causal GQA attention matches the reference, "
          f"loss {losses[0]:.4f} → {losses[-1]:.4f} over 8 LoRA steps, base weights unchanged")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", help="a Hugging Face config.json")
    p.add_argument("--shape", default="4x512", help="BxT (default 4x512)")
    p.add_argument("--dtype", choices=["f32", "bf16"], default="f32", help="weights and activations (default f32, as entrotune)")
    p.add_argument("--device", choices=["cuda", "cpu"], help="default cuda if available")
    p.add_argument("--steps", type=int, help="timed steps (default 10 on CUDA, 2 on the CPU)")
    p.add_argument("--warmup", type=int, help="untimed steps first (default 3 on CUDA, 1 on the CPU)")
    p.add_argument("--labels", choices=["all", "half"], default="all", help="train every position, or the second half of each row as the bench does")
    p.add_argument("--r", type=int, default=8)
    p.add_argument("--alpha", type=float, default=16)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--nf4", action="store_true", help="NF4 base linears through bitsandbytes, when it imports")
    p.add_argument("--json", help="write the figures here")
    p.add_argument("--check", action="store_true", help="self-check on a tiny config and exit")
    args = p.parse_args()
    if args.check:
        check()
        return
    if not args.config:
        p.error("--config is required (or --check)")
    if (args.steps is not None and args.steps < 1) or (args.warmup is not None and args.warmup < 0):
        p.error("--steps must be at least 1 and --warmup at least 0")
    run(args)


if __name__ == "__main__":
    main()
