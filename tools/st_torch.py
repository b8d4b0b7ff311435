#!/usr/bin/python3
"""st_torch.py - seqtrain checkpoints <-> equivalent PyTorch models.

Usage (from the repository root; python3 with torch, h5py and numpy):

    import sys; sys.path.insert(0, "tools")
    import h5py, st_torch
    model, config = st_torch.load_seqtrain_checkpoint("runs/spam_lstm")  # file or directory
    x = h5py.File("data/spam.h5", "r")["test/x"][:100]   # int32 tokens, or float32 features
    probs = model.predict(x)     # numpy (N, K) or (N, T, K): what `seqtrain predict` writes
    logits = model(st_torch.as_input(x))    # a torch tensor, differentiable
    st_torch.save_seqtrain_checkpoint(model, config, "from_torch.h5")

Reads a seqtrain checkpoint (HDF5: the root attribute `config` is the INI text the model was
built from, /model_weights/<layer>/<param> are the weights in Keras layout) and builds a
torch.nn.Module that computes the same function, and writes a checkpoint back from the module's
weights. The parity tests (tests/parity/run_parity.py) use it to compare seqtrain's outputs and
gradients with PyTorch autograd; users can use it to take a trained model to PyTorch (above).
model(x) returns the head's logits; model.probabilities(logits) applies its activation:

    probs = model.probabilities(model(torch.as_tensor(x_int32).long()))

Inputs: int tokens (B, T) into an embedding; float features (B, T, F) into a recurrent or
flatten layer, or (B, F) vectors into dense / batch_norm (the dense MNIST models).
Outputs: (B, K), or (B, T, K) for a sequence head (a dense layer after return_sequences: the
many-to-many models), probabilities at padded steps included.

load_seqtrain_checkpoint() returns the model in eval() mode, the mode of `seqtrain predict`:
dropout is the identity and batch_norm uses its moving statistics. In train() mode (the
default of a model built with SeqtrainModel(...)) batch_norm normalizes with the batch's
statistics and updates the moving ones as Keras does, and dropout / recurrent layers' dropout
draw torch's own random masks: the same distribution as seqtrain's, not the same values.

Layers and how they map (Keras layout -> torch layout):
  embedding   Embedding: weight = embeddings (V, E). mask_zero: mask = tokens != 0.
  simple_rnn  torch.nn.RNNCell: weight_ih = kernel^T, weight_hh = recurrent_kernel^T,
              bias_ih = bias, bias_hh = 0 (frozen). tanh/relu use the torch cell, other
              activations the same equations written out on the same tensors.
  lstm        torch.nn.LSTMCell, same conversion; gate order i, f, g, o = Keras i, f, c, o.
              Non-default activations (e.g. recurrent_activation relu / hard_sigmoid) are
              written out on the same tensors.
  gru         torch.nn.GRUCell (Keras reset_after=True has torch's equations). Keras gates
              z, r, h vs torch r, z, n: the first two blocks swap. bias (2, 3U): row 0 is
              bias_ih, row 1 bias_hh (both trained).
  bidirectional  two of the above; the backward one runs on the time-flipped sequence and
              mask, its outputs flipped back; with return_sequences masked steps output 0
              (Keras zero_output_for_mask); merge concat | sum | mul | ave.
  attention   Luong / Bahdanau many-to-one (see src/layers/attention.c), parameters kept in
              Keras layout (W, W1, W2, v, Wc): there is no torch module for it.
  dense       torch.nn.Linear: weight = kernel^T. The last dense layer is the head: forward()
              returns its PRE-activation (logits) and loss()/probabilities() apply the
              activation, as seqtrain does. On a sequence (B, T, F) it applies at every step.
  dropout     rate: identity in eval(); torch's F.dropout in train().
  batch_norm  gamma (scale), beta (center), moving_mean, moving_variance, Keras names (the two
              moving statistics are buffers, not trained). eval():
              (x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta.
  flatten     (B, T, F) -> (B, T*F) row by row per sample (= Keras' order; seqtrain's
              time-major (T, B, F) transposes to the same thing); the mask ends here.

Masking: recurrent layers run a per-step loop; at a masked step the state is kept
(h = m * h_new + (1 - m) * h) and, for a plain layer, the carried state is the step's output.
That is exact for 'pre' and 'post' padding alike (and for holes), unlike pack_padded_sequence.

Everything runs in float64 by default (dtype argument), so as a reference it is ~1e-16
accurate; weights are read from and written as float32.

Needs torch, h5py and numpy (Debian: python3-torch python3-h5py python3-numpy).
"""
import os
import re

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CKPT_FORMAT = "seqtrain-ckpt-1"
# Sections that are not layers: [train] is read for the loss; [data], [checkpoint] and
# [callbacks] only steer training bookkeeping and are ignored here (as st_config_is_meta does).
META_SECTIONS = ("data", "train", "checkpoint", "callbacks")


# ---------------------------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------------------------

def parse_config(text):
    """INI text -> [(section, {key: value})] in file order; sections may repeat."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in ";#":
            continue
        m = re.match(r"^\[([^\]]+)\]$", line)
        if m:
            out.append((m.group(1).strip().lower(), {}))
            continue
        if "=" not in line or not out:
            raise ValueError("config line not understood: %r" % raw)
        k, v = line.split("=", 1)
        v = re.split(r"\s[;#]", v, maxsplit=1)[0]  # trailing comment
        out[-1][1][k.strip()] = v.strip()
    return out


def layer_sections(sections):
    """[(type, name, opts)] of the layer sections, with seqtrain's default names <type>_<k>."""
    counts, out = {}, []
    for sec, opts in sections:
        if sec in META_SECTIONS:
            continue
        counts[sec] = counts.get(sec, 0) + 1
        out.append((sec, opts.get("name", "%s_%d" % (sec, counts[sec])), opts))
    return out


def _bool(v):
    s = str(v).strip().lower()
    if s in ("true", "1", "yes"):
        return True
    if s in ("false", "0", "no"):
        return False
    raise ValueError("not a boolean: %r" % v)


def activation(name):
    """Keras activation name -> function on tensors (softmax over the last axis)."""
    name = (name or "linear").lower()
    return {
        "linear": lambda x: x,
        "none": lambda x: x,
        "relu": torch.relu,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "softmax": lambda x: torch.softmax(x, dim=-1),
        "hard_sigmoid": F.hardsigmoid,  # relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1), Keras 3
    }[name]


# ---------------------------------------------------------------------------------------------
# Layers: each forward(x, mask) -> (y, mask); x is batch-first (B, T, F) or (B, F) here
# ---------------------------------------------------------------------------------------------

class Embedding(nn.Module):
    def __init__(self, opts, in_feat, dtype):
        super().__init__()
        self.V, self.E = int(opts["input_dim"]), int(opts["output_dim"])
        self.mask_zero = _bool(opts.get("mask_zero", "false"))
        self.emb = nn.Embedding(self.V, self.E, dtype=dtype)
        self.out_feat, self.out_seq = self.E, True

    def forward(self, tokens, mask):
        m = tokens != 0 if self.mask_zero else mask
        return self.emb(tokens), m

    def keras_tensors(self, grad=False):
        return {"embeddings": _get(self.emb.weight, grad)}

    def load_keras(self, w):
        _set(self.emb.weight, w["embeddings"])


def _get(p, grad):
    t = p.grad if grad else p.data
    if t is None:
        return np.zeros(tuple(p.shape))
    return t.detach().cpu().double().numpy()


def _get_buffer(b, grad):
    """A non-trained tensor (batch_norm's moving statistics): its "gradient" is 0."""
    return np.zeros(tuple(b.shape)) if grad else b.detach().cpu().double().numpy()


def _set(p, a):
    with torch.no_grad():
        p.copy_(torch.as_tensor(np.asarray(a, dtype=np.float64)).to(p.dtype).reshape(p.shape))


def _swap_zr(a, U):
    """Keras GRU blocks z, r, h <-> torch r, z, n along axis 0 (its own inverse)."""
    return np.concatenate([a[U:2 * U], a[:U], a[2 * U:]], axis=0)


class Recurrent(nn.Module):
    """simple_rnn / lstm / gru with seqtrain's (Keras') masking, on torch's cell parameters."""

    GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}

    def __init__(self, kind, opts, in_feat, dtype, zero_output_for_mask=False):
        super().__init__()
        self.kind, self.I = kind, in_feat
        self.U = int(opts["units"])
        self.act_name = opts.get("activation", "tanh").lower()
        self.ract_name = opts.get("recurrent_activation", "sigmoid").lower()
        self.act, self.ract = activation(self.act_name), activation(self.ract_name)
        self.use_bias = _bool(opts.get("use_bias", "true"))
        self.return_sequences = _bool(opts.get("return_sequences", "false"))
        self.zero_output_for_mask = zero_output_for_mask
        # Keras dropout / recurrent_dropout (simple_rnn, lstm): train() mode only, one mask per
        # sequence on x_t and on h_{t-1}; torch's random values (see the module docstring).
        self.dropout = float(opts.get("dropout", "0"))
        self.recurrent_dropout = float(opts.get("recurrent_dropout", "0"))
        if kind == "simple_rnn":
            nl = self.act_name if self.act_name in ("tanh", "relu") else "tanh"
            self.cell = nn.RNNCell(self.I, self.U, bias=self.use_bias, nonlinearity=nl,
                                   dtype=dtype)
            self.torch_cell = self.act_name in ("tanh", "relu")
        elif kind == "lstm":
            self.cell = nn.LSTMCell(self.I, self.U, bias=self.use_bias, dtype=dtype)
            self.torch_cell = self.act_name == "tanh" and self.ract_name == "sigmoid"
        elif kind == "gru":
            self.cell = nn.GRUCell(self.I, self.U, bias=self.use_bias, dtype=dtype)
            self.torch_cell = self.act_name == "tanh" and self.ract_name == "sigmoid"
        else:
            raise ValueError(kind)
        if self.use_bias and kind != "gru":
            # Keras has one bias: it lives in bias_ih; bias_hh stays 0 and is not trained.
            with torch.no_grad():
                self.cell.bias_hh.zero_()
            self.cell.bias_hh.requires_grad_(False)
        self.out_feat, self.out_seq = self.U, self.return_sequences

    # The same equations as torch's cells, for activations the cells do not offer.
    def _step_manual(self, x, state):
        c = self.cell
        gi = x @ c.weight_ih.T + (c.bias_ih if self.use_bias else 0)
        if self.kind == "simple_rnn":
            h = state
            return self.act(gi + h @ c.weight_hh.T + (c.bias_hh if self.use_bias else 0))
        if self.kind == "lstm":
            h, cc = state
            z = gi + h @ c.weight_hh.T + (c.bias_hh if self.use_bias else 0)
            i, f, g, o = z.chunk(4, dim=-1)
            i, f, g, o = self.ract(i), self.ract(f), self.act(g), self.ract(o)
            cc = f * cc + i * g
            return o * self.act(cc), cc
        h = state  # gru, torch's gate order r, z, n
        gh = h @ c.weight_hh.T + (c.bias_hh if self.use_bias else 0)
        ir, iz, in_ = gi.chunk(3, dim=-1)
        hr, hz, hn = gh.chunk(3, dim=-1)
        r, z = self.ract(ir + hr), self.ract(iz + hz)
        n = self.act(in_ + r * hn)
        return (1 - z) * n + z * h

    def _drop_mask(self, rate, shape, like):
        if not self.training or rate <= 0:
            return None
        return torch.bernoulli(like.new_full(shape, 1 - rate)) / (1 - rate)

    def forward(self, x, mask):
        B, T, _ = x.shape
        h = x.new_zeros(B, self.U)
        state = (h, x.new_zeros(B, self.U)) if self.kind == "lstm" else h
        dx = self._drop_mask(self.dropout, (B, x.shape[2]), x)
        dh = self._drop_mask(self.recurrent_dropout, (B, self.U), x)
        outs = []
        for t in range(T):
            xt = x[:, t] if dx is None else x[:, t] * dx
            st = state
            if dh is not None:  # the recurrence sees the dropped h; the carried state is kept
                st = (state[0] * dh, state[1]) if self.kind == "lstm" else state * dh
            if self.torch_cell:
                new = self.cell(xt, st)
            else:
                new = self._step_manual(xt, st)
            if mask is not None:
                m = mask[:, t].unsqueeze(1)
                if self.kind == "lstm":
                    new = (torch.where(m, new[0], state[0]), torch.where(m, new[1], state[1]))
                else:
                    new = torch.where(m, new, state)
            state = new
            h = state[0] if self.kind == "lstm" else state
            if self.zero_output_for_mask and mask is not None:
                outs.append(torch.where(mask[:, t].unsqueeze(1), h, torch.zeros_like(h)))
            else:
                outs.append(h)
        if self.return_sequences:
            return torch.stack(outs, dim=1), mask
        return h, None

    def keras_tensors(self, grad=False):
        c, U = self.cell, self.U
        wi, wh = _get(c.weight_ih, grad), _get(c.weight_hh, grad)
        if self.kind == "gru":
            wi, wh = _swap_zr(wi, U), _swap_zr(wh, U)
        out = {"kernel": wi.T.copy(), "recurrent_kernel": wh.T.copy()}
        if self.use_bias:
            bi, bh = _get(c.bias_ih, grad), _get(c.bias_hh, grad)
            if self.kind == "gru":
                out["bias"] = np.stack([_swap_zr(bi, U), _swap_zr(bh, U)])
            else:
                out["bias"] = bi if grad else bi + bh
        return out

    def load_keras(self, w):
        c, U = self.cell, self.U
        wi, wh = np.asarray(w["kernel"]).T, np.asarray(w["recurrent_kernel"]).T
        if self.kind == "gru":
            wi, wh = _swap_zr(wi, U), _swap_zr(wh, U)
        _set(c.weight_ih, wi)
        _set(c.weight_hh, wh)
        if self.use_bias:
            b = np.asarray(w["bias"])
            if self.kind == "gru":
                _set(c.bias_ih, _swap_zr(b[0], U))
                _set(c.bias_hh, _swap_zr(b[1], U))
            else:
                _set(c.bias_ih, b)
                _set(c.bias_hh, np.zeros_like(b))


class Bidirectional(nn.Module):
    def __init__(self, opts, in_feat, dtype):
        super().__init__()
        kind = opts["layer"].lower()
        self.merge_mode = opts.get("merge_mode", "concat")
        rs = _bool(opts.get("return_sequences", "false"))
        self.fwd = Recurrent(kind, opts, in_feat, dtype, zero_output_for_mask=rs)
        self.bwd = Recurrent(kind, opts, in_feat, dtype, zero_output_for_mask=rs)
        self.return_sequences = rs
        U = self.fwd.U
        self.out_feat = 2 * U if self.merge_mode == "concat" else U
        self.out_seq = rs

    def forward(self, x, mask):
        f, _ = self.fwd(x, mask)
        g, _ = self.bwd(torch.flip(x, [1]), None if mask is None else torch.flip(mask, [1]))
        if self.return_sequences:
            g = torch.flip(g, [1])
        if self.merge_mode == "concat":
            y = torch.cat([f, g], dim=-1)
        elif self.merge_mode == "sum":
            y = f + g
        elif self.merge_mode == "mul":
            y = f * g
        elif self.merge_mode == "ave":
            y = (f + g) / 2
        else:
            raise ValueError(self.merge_mode)
        return y, (mask if self.return_sequences else None)

    def keras_tensors(self, grad=False):
        out = {}
        for d, layer in (("forward", self.fwd), ("backward", self.bwd)):
            for k, v in layer.keras_tensors(grad).items():
                out["%s/%s" % (d, k)] = v
        return out

    def load_keras(self, w):
        for d, layer in (("forward", self.fwd), ("backward", self.bwd)):
            layer.load_keras({k.split("/", 1)[1]: v for k, v in w.items()
                              if k.startswith(d + "/")})


class Attention(nn.Module):
    def __init__(self, opts, in_feat, dtype):
        super().__init__()
        H, N = in_feat, int(opts["units"])
        self.score = opts.get("score", "luong").lower()
        p = lambda *shape: nn.Parameter(torch.zeros(*shape, dtype=dtype))
        if self.score == "luong":
            self.W = p(H, H)
        elif self.score == "bahdanau":
            self.W1, self.W2, self.v = p(H, H), p(H, H), p(H)
        else:
            raise ValueError(self.score)
        self.Wc = p(2 * H, N)
        self.out_feat, self.out_seq = N, False
        self.weights = None  # alpha (B, T) of the last forward

    def names(self):
        return ["W", "Wc"] if self.score == "luong" else ["W1", "W2", "v", "Wc"]

    def forward(self, hb, mask):
        B, T, H = hb.shape
        m = torch.ones(B, T, dtype=torch.bool) if mask is None else mask
        has = m.any(dim=1)
        # last real step of each row: T-1 - (index of the first 1 in the flipped mask)
        last = (T - 1) - torch.argmax(torch.flip(m, [1]).to(torch.int64), dim=1)
        ht = hb[torch.arange(B), last] * has.unsqueeze(1).to(hb.dtype)
        if self.score == "luong":
            s = torch.einsum("bth,hk,bk->bt", hb, self.W, ht)
        else:
            e = torch.tanh((ht @ self.W1).unsqueeze(1) + hb @ self.W2)
            s = e @ self.v
        s = torch.where(m, s, torch.full_like(s, -1e30))
        alpha = torch.softmax(s, dim=1) * m.to(hb.dtype)  # masked: exactly 0; no real step: 0
        self.weights = alpha.detach()
        c = torch.einsum("bt,bth->bh", alpha, hb)
        return torch.tanh(torch.cat([c, ht], dim=1) @ self.Wc), None

    def keras_tensors(self, grad=False):
        return {n: _get(getattr(self, n), grad) for n in self.names()}

    def load_keras(self, w):
        for n in self.names():
            _set(getattr(self, n), w[n])


class Dense(nn.Module):
    def __init__(self, opts, in_feat, dtype):
        super().__init__()
        self.units = int(opts["units"])
        self.act_name = opts.get("activation", "linear").lower()
        self.act = activation(self.act_name)
        self.use_bias = _bool(opts.get("use_bias", "true"))
        self.lin = nn.Linear(in_feat, self.units, bias=self.use_bias, dtype=dtype)
        self.head = False  # set by the model: leave the activation to the loss
        self.out_feat = self.units

    def forward(self, x, mask):
        z = self.lin(x)
        return (z if self.head else self.act(z)), mask

    def keras_tensors(self, grad=False):
        out = {"kernel": _get(self.lin.weight, grad).T.copy()}
        if self.use_bias:
            out["bias"] = _get(self.lin.bias, grad)
        return out

    def load_keras(self, w):
        _set(self.lin.weight, np.asarray(w["kernel"]).T)
        if self.use_bias:
            _set(self.lin.bias, w["bias"])


class Dropout(nn.Module):
    """Keras Dropout(rate): the identity in eval() (inference, `seqtrain predict`)."""

    def __init__(self, opts, in_feat, dtype):
        super().__init__()
        self.rate = float(opts.get("rate", "0"))
        self.out_feat = in_feat

    def forward(self, x, mask):
        if self.training and self.rate > 0:
            return F.dropout(x, self.rate, training=True), mask
        return x, mask

    def keras_tensors(self, grad=False):
        return {}

    def load_keras(self, w):
        pass


class BatchNorm(nn.Module):
    """Keras BatchNormalization on vectors (B, F), see src/layers/batch_norm.c. eval(): the
    moving statistics; train(): the batch's mean and BIASED variance, and the moving statistics
    updated with them (moving = moving * momentum + batch * (1 - momentum)), as Keras 3."""

    def __init__(self, opts, in_feat, dtype):
        super().__init__()
        if in_feat is None:
            raise ValueError("st_torch: batch_norm needs its number of features")
        Fn = int(in_feat)
        self.center = _bool(opts.get("center", "true"))
        self.scale = _bool(opts.get("scale", "true"))
        self.epsilon = float(opts.get("epsilon", "1e-3"))
        self.momentum = float(opts.get("momentum", "0.99"))
        if self.scale:
            self.gamma = nn.Parameter(torch.ones(Fn, dtype=dtype))
        if self.center:
            self.beta = nn.Parameter(torch.zeros(Fn, dtype=dtype))
        self.register_buffer("moving_mean", torch.zeros(Fn, dtype=dtype))
        self.register_buffer("moving_variance", torch.ones(Fn, dtype=dtype))
        self.out_feat = Fn

    def forward(self, x, mask):
        if x.dim() != 2:
            raise ValueError("st_torch: batch_norm takes vectors (B, F), got %s"
                             % (tuple(x.shape),))
        if self.training:
            mu = x.mean(dim=0)
            var = ((x - mu) ** 2).mean(dim=0)
            with torch.no_grad():
                m = self.momentum
                self.moving_mean.mul_(m).add_(mu.detach() * (1 - m))
                self.moving_variance.mul_(m).add_(var.detach() * (1 - m))
        else:
            mu, var = self.moving_mean, self.moving_variance
        y = (x - mu) / torch.sqrt(var + self.epsilon)
        if self.scale:
            y = y * self.gamma
        if self.center:
            y = y + self.beta
        return y, mask

    def names(self):
        return (["gamma"] if self.scale else []) + (["beta"] if self.center else []) + \
            ["moving_mean", "moving_variance"]

    def keras_tensors(self, grad=False):
        out = {}
        if self.scale:
            out["gamma"] = _get(self.gamma, grad)
        if self.center:
            out["beta"] = _get(self.beta, grad)
        out["moving_mean"] = _get_buffer(self.moving_mean, grad)
        out["moving_variance"] = _get_buffer(self.moving_variance, grad)
        return out

    def load_keras(self, w):
        for n in self.names():
            _set(getattr(self, n), w[n])


class Flatten(nn.Module):
    """Keras Flatten: (B, T, F) -> (B, T*F), each sample's [T, F] block row by row (seqtrain's
    time-major (T, B, F) transposed, the same order); (B, F) stays as it is. The mask ends."""

    def __init__(self, opts, in_feat, dtype, steps=None, seq=True):
        super().__init__()
        if not seq:
            self.out_feat = in_feat
        else:
            self.out_feat = None if in_feat is None or steps is None else in_feat * steps

    def forward(self, x, mask):
        return x.reshape(x.shape[0], -1), None

    def keras_tensors(self, grad=False):
        return {}

    def load_keras(self, w):
        pass


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------

def _weight_in_feat(kind, name, shapes):
    """The input features a layer's own weights imply (None if they do not say)."""
    if not shapes:
        return None
    key = {"simple_rnn": "kernel", "lstm": "kernel", "gru": "kernel", "dense": "kernel",
           "bidirectional": "forward/kernel", "batch_norm": "moving_mean"}.get(kind)
    if kind == "attention":
        key = "W" if ("%s/W" % name) in shapes else "W2"
    if key is None or ("%s/%s" % (name, key)) not in shapes:
        return None
    return int(shapes["%s/%s" % (name, key)][0])


def as_input(x, dtype=torch.float64):
    """A batch as the model takes it: int tokens -> int64, float features -> dtype."""
    t = torch.as_tensor(np.asarray(x))
    if t.dtype.is_floating_point:
        return t.to(dtype)
    return t.to(torch.int64)


class SeqtrainModel(nn.Module):
    """The model a seqtrain config describes. forward(x) takes int64 tokens (B, T) or float
    features (B, T, F) / (B, F) and returns the head's logits (B, K), or (B, T, K) for a
    sequence head (pre-activation when the last layer is dense, as seqtrain's loss sees them).

    in_feat: features per step (or per vector) of float input; steps: T of sequence input (only
    a flatten layer needs it); shapes: {"layer/param": shape} of a checkpoint's weights, from
    which any layer whose input size is not known otherwise takes it (a model with no
    embedding, or after a flatten)."""

    def __init__(self, config_text, in_feat=None, dtype=torch.float64, steps=None, shapes=None):
        super().__init__()
        self.config_text = config_text
        sections = parse_config(config_text)
        self.train_opts = dict(next((o for s, o in sections if s == "train"), {}))
        self.names, layers = [], []
        specs = layer_sections(sections)
        # Input: tokens into an embedding; else float sequences into recurrent / flatten
        # layers, float vectors into dense / batch_norm (steps given: sequences).
        first = specs[0][0] if specs else None
        seq = steps is not None or first in ("embedding", "simple_rnn", "lstm", "gru",
                                             "bidirectional", "attention")
        feat = in_feat
        for kind, name, opts in specs:
            if feat is None:
                feat = _weight_in_feat(kind, name, shapes)
            if kind == "embedding":
                L = Embedding(opts, feat, dtype)
            elif kind in ("simple_rnn", "lstm", "gru"):
                L = Recurrent(kind, opts, feat, dtype)
            elif kind == "bidirectional":
                L = Bidirectional(opts, feat, dtype)
            elif kind == "attention":
                L = Attention(opts, feat, dtype)
            elif kind == "dense":
                L = Dense(opts, feat, dtype)
            elif kind == "dropout":
                L = Dropout(opts, feat, dtype)
            elif kind == "batch_norm":
                L = BatchNorm(opts, feat, dtype)
            elif kind == "flatten":
                L = Flatten(opts, feat, dtype, steps=steps, seq=seq)
            else:
                raise ValueError("st_torch: layer type %r is not supported" % kind)
            if kind in ("simple_rnn", "lstm", "gru", "bidirectional"):
                seq = L.out_seq
            elif kind in ("attention", "flatten"):
                seq = False
            feat = L.out_feat
            layers.append(L)
            self.names.append(name)
        self.layers = nn.ModuleList(layers)
        last = self.layers[-1]
        self.head_act = "linear"
        if isinstance(last, Dense):
            last.head = True
            self.head_act = last.act_name
        self.loss_name = self.train_opts.get("loss", "")

    def forward(self, x):
        mask = None
        for L in self.layers:
            x, mask = L(x, mask)
        self.out_mask = mask  # (B, T) real steps of a sequence head (None: all real)
        return x

    def probabilities(self, z):
        return activation(self.head_act)(z)

    def predict(self, x, batch_size=256):
        """Probabilities as numpy, as `seqtrain predict` writes them: (N, K) or (N, T, K).
        x: numpy or torch, int tokens or float features. Runs in eval() mode, without
        gradients, and restores the mode it found."""
        was = self.training
        self.eval()
        out = []
        try:
            with torch.no_grad():
                for i in range(0, len(x), batch_size):
                    z = self(as_input(x[i:i + batch_size], self._dtype()))
                    out.append(self.probabilities(z).cpu().numpy())
        finally:
            self.train(was)
        return np.concatenate(out, axis=0)

    def _dtype(self):
        p = next(self.parameters(), None)
        return p.dtype if p is not None else torch.float64

    def loss(self, z, y):
        """Mean over rows of seqtrain's per-row loss (labels int64 (B,)); for a sequence head
        (z (B, T, K), y (B, T)) the mean over the real steps of the last forward's mask."""
        if z.dim() == 3:
            m = getattr(self, "out_mask", None)
            keep = torch.ones(z.shape[:2], dtype=torch.bool) if m is None else m
            return self.loss(z[keep], y[keep])
        K = z.shape[1]
        name, act = self.loss_name, self.head_act
        t = y.to(z.dtype).unsqueeze(1) if K == 1 else F.one_hot(y, K).to(z.dtype)
        if name == "binary_crossentropy" and act == "sigmoid":
            return F.binary_cross_entropy_with_logits(z, t)  # mean over K, then rows
        if name in ("sparse_categorical_crossentropy", "categorical_crossentropy") \
                and act == "softmax":
            return F.cross_entropy(z, y)
        if name in ("mse", "mean_squared_error"):
            return ((self.probabilities(z) - t) ** 2).mean()
        raise ValueError("st_torch: loss %r with head activation %r is not supported"
                         % (name, act))

    def keras_weights(self, grad=False):
        """{"layer/param": float64 array in Keras layout}: the weights, or their gradients."""
        out = {}
        for name, L in zip(self.names, self.layers):
            for k, v in L.keras_tensors(grad).items():
                out["%s/%s" % (name, k)] = v
        return out

    def load_keras_weights(self, w):
        for name, L in zip(self.names, self.layers):
            L.load_keras({k[len(name) + 1:]: v for k, v in w.items()
                          if k.startswith(name + "/")})


def _read_weights(f):
    out = {}

    def visit(path, obj):
        if isinstance(obj, h5py.Dataset):
            out[path] = obj[()]
    f["model_weights"].visititems(visit)
    return out


def newest_checkpoint(path):
    """path itself if it is a file; for a directory its newest checkpoint by global_step (as
    `seqtrain --resume DIR` picks it)."""
    if not os.path.isdir(path):
        return path
    best, best_step = None, None
    for n in sorted(os.listdir(path)):
        if not n.endswith(".h5"):
            continue
        p = os.path.join(path, n)
        try:
            with h5py.File(p, "r") as f:
                step = int(f["train_state/global_step"][()]) if "train_state/global_step" in f \
                    else -1
        except OSError:
            continue
        if best is None or step >= best_step:
            best, best_step = p, step
    if best is None:
        raise ValueError("%s: no checkpoint in this directory" % path)
    return best


def load_seqtrain_checkpoint(path, in_feat=None, dtype=torch.float64, steps=None):
    """(model, config_text) from a seqtrain checkpoint file, or a directory (its newest).
    The model is in eval() mode (inference, as `seqtrain predict`). in_feat: features per
    step of float input and steps: T, for the rare model whose weights do not imply them (a
    flatten with nothing after it); every other model needs neither."""
    path = newest_checkpoint(path)
    with h5py.File(path, "r") as f:
        fmt = f.attrs.get("format")
        if isinstance(fmt, bytes):
            fmt = fmt.decode()
        if fmt != CKPT_FORMAT:
            raise ValueError("%s: not a %s checkpoint (format %r)" % (path, CKPT_FORMAT, fmt))
        config = f.attrs["config"]
        if isinstance(config, bytes):
            config = config.decode()
        weights = _read_weights(f)
    shapes = {k: v.shape for k, v in weights.items()}
    model = SeqtrainModel(config, in_feat=in_feat, dtype=dtype, steps=steps, shapes=shapes)
    expected = model.keras_weights()
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        raise ValueError("%s: weights do not match the config (missing %s, extra %s)"
                         % (path, missing, extra))
    for k, v in expected.items():
        if v.shape != weights[k].shape:
            raise ValueError("%s: %s has shape %s, the config needs %s"
                             % (path, k, weights[k].shape, v.shape))
    model.load_keras_weights(weights)
    model.eval()
    return model, config


def save_seqtrain_checkpoint(model, config_text, path):
    """Writes model's weights (float32, Keras layout) and config_text as a checkpoint that
    `seqtrain evaluate / predict / gradients` read (no optimizer or training state: it is not
    for --resume)."""
    with h5py.File(path, "w") as f:
        f.attrs["format"] = CKPT_FORMAT
        f.attrs["config"] = config_text
        for k, v in model.keras_weights().items():
            f.create_dataset("model_weights/" + k, data=np.asarray(v, dtype=np.float32))
