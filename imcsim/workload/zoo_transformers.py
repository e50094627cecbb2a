"""Built-in transformers as `Graph`s with synthetic weights, laid out as their exports are.

Each encoder/decoder layer is written with the ops the exporters emit (opset 17 forms):
LayerNormalization; Linear as MatMul with a [in, out] weight plus an Add of the bias;
heads split by Reshape + Transpose; attention as MatMul(Q, K^T) (activation x activation;
the 1/sqrt(d_head) scale folded into the query projection, as optimised exports do),
Softmax over the last axis, MatMul(A, V); GELU as Gelu (tanh approximation for GPT-2). Parameter layouts follow the published configurations, so the
parameter totals match them:

* vit_b_16 (torchvision, 224x224): 16x16/16 patch Conv, class token, position
  embedding, 12 layers d=768, 12 heads, MLP 3072, fused QKV (in_proj), head 768->1000.
  86,567,656 parameters; 16,848,500,736 weight MACs + 715,327,488 attention MACs.
* bert_base (bert-base-uncased, `seq` tokens): word/position/token-type embeddings
  (Gather), 12 layers d=768, 12 heads, MLP 3072, separate Q, K, V, pooler. 109,482,240
  parameters.
* gpt2 (124 M configuration, prefill of `seq` tokens): token and position embeddings,
  12 pre-LN blocks d=768, 12 heads, fused QKV, causal mask (a boolean constant and Where),
  final LayerNorm, the LM head tied to the token embedding (Gemm with transB, one
  initializer). 124,439,808 parameters. With a KV cache of N tokens: one decode step, the
  cached keys and values graph inputs [1, 12, N, 64] per layer, the new token's appended
  (Concat) and attended with them; the graph's `meta` gives the K/V elements the step
  writes (12 x 2 x 768) and reads (12 x 2 x (N + 1) x 768).

Weights are seeded He-normal (as the CNNs of `zoo`); LayerNorm scales are 1 and biases 0.
"""

from __future__ import annotations

import numpy as np

from imcsim.workload.builder import GraphBuilder
from imcsim.workload.graph import Graph, Node, Tensor

D_MODEL, HEADS, D_FF, LAYERS = 768, 12, 3072, 12


class _Seq:
    """Node helpers for sequence models on a `GraphBuilder` (tensors [1, seq, d])."""

    def __init__(self, b: GraphBuilder, seq: int):
        self.b, self.seq = b, seq

    def op(self, name: str, op: str, inputs: list[str], **attrs) -> str:
        return self.b.node(name, op, inputs, 0, **attrs)

    def ints(self, name: str, values: list[int]) -> str:
        return self.b.init(name, np.asarray(values, dtype=np.int64))

    def scalar(self, name: str, value: float) -> str:
        return self.b.init(name, np.array(value, dtype=np.float32))

    def linear(self, name: str, x: str, n_in: int, n_out: int) -> str:
        w = self.b.he(f"{name}.weight", (n_in, n_out), n_in)
        bias = self.b.init(f"{name}.bias", np.zeros(n_out, np.float32))
        return self.op(name, "Add", [self.op(f"{name}.matmul", "MatMul", [x, w]), bias])

    def layernorm(self, name: str, x: str, eps: float) -> str:
        gamma = self.b.init(f"{name}.weight", np.ones(D_MODEL, np.float32))
        beta = self.b.init(f"{name}.bias", np.zeros(D_MODEL, np.float32))
        return self.op(name, "LayerNormalization", [x, gamma, beta], axis=-1, epsilon=eps)

    def heads(self, name: str, x: str, last: str) -> str:
        """[1, s, d] -> [1, h, s, dh] (or [1, h, dh, s] for K^T when last == 'T')."""
        dh = D_MODEL // HEADS
        y = self.op(f"{name}.split_heads", "Reshape",
                    [x, self.ints("shape.heads", [1, self.seq, HEADS, dh])])
        perm = [0, 2, 3, 1] if last == "T" else [0, 2, 1, 3]
        return self.op(f"{name}.transpose", "Transpose", [y], perm=perm)

    def attention(self, name: str, q: str, k: str, v: str, mask: str | None,
                  past: tuple[str, str] | None = None) -> str:
        """Softmax(Q K^T / sqrt(dh) [masked]) V, heads merged back to [1, s, d]. With
        `past` (cached K and V, [1, h, n, dh]) the new keys and values are appended to
        them (Concat) and the queries attend all n + s positions."""
        qh = self.heads(f"{name}.q", q, "")
        if past is None:
            kt, vh = self.heads(f"{name}.k", k, "T"), self.heads(f"{name}.v", v, "")
        else:
            keys = self.op(f"{name}.k_cache", "Concat",
                           [past[0], self.heads(f"{name}.k", k, "")], axis=2)
            vh = self.op(f"{name}.v_cache", "Concat",
                         [past[1], self.heads(f"{name}.v", v, "")], axis=2)
            kt = self.op(f"{name}.k_t", "Transpose", [keys], perm=[0, 1, 3, 2])
        scores = self.op(f"{name}.scores", "MatMul", [qh, kt])  # (1/sqrt(dh) folded in Q)
        if mask is not None:
            scores = self.op(f"{name}.mask", "Where",
                             [mask, scores, self.scalar("attention.masked", -1e4)])
        probs = self.op(f"{name}.softmax", "Softmax", [scores], axis=-1)
        ctx = self.op(f"{name}.context", "MatMul", [probs, vh])
        ctx = self.op(f"{name}.merge", "Transpose", [ctx], perm=[0, 2, 1, 3])
        return self.op(f"{name}.merge_heads", "Reshape",
                       [ctx, self.ints("shape.model", [1, self.seq, D_MODEL])])

    def fused_qkv(self, name: str, x: str) -> tuple[str, str, str]:
        """One Linear d -> 3d, split into Q, K and V along the last axis."""
        qkv = self.linear(name, x, D_MODEL, 3 * D_MODEL)
        split = self.ints("split.qkv", [D_MODEL] * 3)
        outs = [f"{name}.{t}" for t in "qkv"]
        self.b.graph.nodes.append(Node(f"{name}.split", "Split", [qkv, split], outs,
                                       {"axis": -1}))
        return outs[0], outs[1], outs[2]

    def mlp(self, name: str, x: str, fc1: str, fc2: str, approximate: str) -> str:
        h = self.linear(f"{name}.{fc1}", x, D_MODEL, D_FF)
        h = self.op(f"{name}.gelu", "Gelu", [h], approximate=approximate)
        return self.linear(f"{name}.{fc2}", h, D_FF, D_MODEL)


def vit_b_16(seed: int = 0) -> Graph:
    """ViT-B/16 (torchvision) on 224x224: 197 tokens, 12 layers d=768; 17.6 G MACs."""
    b = GraphBuilder("vit_b_16", (1, 3, 224, 224), seed)
    s = _Seq(b, 197)
    x = b.conv("conv_proj", "input", D_MODEL, 16, 16, bias=True)  # [1, 768, 14, 14]
    x = s.op("patches", "Reshape", [x, s.ints("shape.patches", [1, D_MODEL, 196])])
    x = s.op("tokens", "Transpose", [x], perm=[0, 2, 1])  # [1, 196, 768]
    cls = b.he("class_token", (1, 1, D_MODEL), D_MODEL)
    x = s.op("with_class", "Concat", [cls, x], axis=1)  # [1, 197, 768]
    pos = b.he("encoder.pos_embedding", (1, 197, D_MODEL), D_MODEL)
    x = s.op("encoder.add_pos", "Add", [x, pos])
    for i in range(LAYERS):
        p = f"encoder.layers.encoder_layer_{i}"
        h = s.layernorm(f"{p}.ln_1", x, 1e-6)
        q, k, v = s.fused_qkv(f"{p}.self_attention.in_proj", h)
        a = s.attention(f"{p}.self_attention", q, k, v, None)
        a = s.linear(f"{p}.self_attention.out_proj", a, D_MODEL, D_MODEL)
        x = s.op(f"{p}.add_1", "Add", [x, a])
        h = s.layernorm(f"{p}.ln_2", x, 1e-6)
        x = s.op(f"{p}.add_2", "Add", [x, s.mlp(f"{p}.mlp", h, "0", "3", "none")])
    x = s.layernorm("encoder.ln", x, 1e-6)
    x = s.op("class_out", "Gather", [x, s.ints("index.class", [0])], axis=1)
    x = s.op("class_flat", "Reshape", [x, s.ints("shape.class", [1, D_MODEL])])
    b.channels[x] = D_MODEL
    b.graph.outputs.append(b.linear("heads.head", x, 1000))
    return b.finish()


def _embed(b: GraphBuilder, s: _Seq, table: str, rows: int, ids: str) -> str:
    w = b.he(table, (rows, D_MODEL), D_MODEL)
    return s.op(f"{table}.lookup", "Gather", [w, ids], axis=0)


def bert_base(seed: int = 0, seq: int = 128) -> Graph:
    """BERT-base (bert-base-uncased, pooler) over --seq tokens, default 128; 110 M params."""
    b = GraphBuilder("bert_base", (1, seq), seed, input_name="input_ids")
    b.graph.inputs[0] = Tensor("input_ids", (1, seq), "int64")
    s = _Seq(b, seq)
    words = _embed(b, s, "embeddings.word_embeddings", 30522, "input_ids")
    positions = _embed(b, s, "embeddings.position_embeddings", 512,
                       s.ints("position_ids", list(range(seq))))
    types = _embed(b, s, "embeddings.token_type_embeddings", 2,
                   s.ints("token_type_ids", [0] * seq))
    x = s.op("embeddings.sum", "Add", [s.op("embeddings.sum0", "Add", [words, positions]),
                                        types])
    x = s.layernorm("embeddings.LayerNorm", x, 1e-12)
    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        q, k, v = (s.linear(f"{p}.attention.self.{t}", x, D_MODEL, D_MODEL)
                   for t in ("query", "key", "value"))
        a = s.attention(f"{p}.attention.self", q, k, v, None)
        a = s.linear(f"{p}.attention.output.dense", a, D_MODEL, D_MODEL)
        x = s.layernorm(f"{p}.attention.output.LayerNorm",
                        s.op(f"{p}.attention.output.add", "Add", [a, x]), 1e-12)
        h = s.linear(f"{p}.intermediate.dense", x, D_MODEL, D_FF)
        h = s.op(f"{p}.intermediate.gelu", "Gelu", [h], approximate="none")
        h = s.linear(f"{p}.output.dense", h, D_FF, D_MODEL)
        x = s.layernorm(f"{p}.output.LayerNorm", s.op(f"{p}.output.add", "Add", [h, x]),
                        1e-12)
    first = s.op("pooler.first", "Gather", [x, s.ints("index.first", [0])], axis=1)
    first = s.op("pooler.flat", "Reshape", [first, s.ints("shape.pooler", [1, D_MODEL])])
    y = s.op("pooler.tanh", "Tanh", [s.linear("pooler.dense", first, D_MODEL, D_MODEL)])
    b.graph.outputs += [x, y]
    return b.finish()


def gpt2(seed: int = 0, seq: int = 128, kv_cache: int | None = None) -> Graph:
    """GPT-2 124 M, prefill of --seq tokens (default 128), LM head tied to the embedding;
    with `kv_cache` N, one decode step: the cache holds N tokens once the step is done,
    the new token's K/V included, so the token (at position N - 1) attends N positions
    over N - 1 cached ones; N = 1024 fills GPT-2's context."""
    tokens = 1 if kv_cache is not None else seq
    past_tokens = kv_cache - 1 if kv_cache is not None else 0
    first = past_tokens  # the new tokens' first position
    if not 1 <= first + tokens <= 1024:
        raise ValueError(f"gpt2 takes 1..1024 positions, got {first + tokens}")
    b = GraphBuilder("gpt2", (1, tokens), seed, input_name="input_ids")
    b.graph.inputs[0] = Tensor("input_ids", (1, tokens), "int64")
    s = _Seq(b, tokens)
    x = s.op("add_wpe", "Add", [
        _embed(b, s, "wte", 50257, "input_ids"),
        _embed(b, s, "wpe", 1024, s.ints("position_ids", list(range(first, first + tokens))))])
    causal = (b.init("causal_mask", np.tril(np.ones((1, 1, tokens, tokens), dtype=bool)))
              if kv_cache is None else None)
    dh = D_MODEL // HEADS
    for i in range(LAYERS):
        p = f"h.{i}"
        past = None
        if past_tokens:  # (a cache of 1: the first token attends only itself)
            past = (f"past_key_{i}", f"past_value_{i}")
            b.graph.inputs += [Tensor(name, (1, HEADS, past_tokens, dh)) for name in past]
        q, k, v = s.fused_qkv(f"{p}.attn.c_attn", s.layernorm(f"{p}.ln_1", x, 1e-5))
        a = s.linear(f"{p}.attn.c_proj", s.attention(f"{p}.attn", q, k, v, causal, past),
                     D_MODEL, D_MODEL)
        x = s.op(f"{p}.add_1", "Add", [x, a])
        h = s.mlp(f"{p}.mlp", s.layernorm(f"{p}.ln_2", x, 1e-5), "c_fc", "c_proj", "tanh")
        x = s.op(f"{p}.add_2", "Add", [x, h])
    x = s.layernorm("ln_f", x, 1e-5)
    x = s.op("lm_head.rows", "Reshape", [x, s.ints("shape.rows", [tokens, D_MODEL])])
    logits = s.op("lm_head", "Gemm", [x, "wte"], transB=1)
    b.graph.outputs.append(logits)
    if kv_cache is not None:  # per token, in elements (bytes at 8-bit activations): the
        # new token's K and V written into the cache, all N tokens' K and V read
        b.graph.meta.update({"decode_step": True, "kv_cache_tokens": kv_cache,
                             "kv_elements_written": LAYERS * 2 * D_MODEL,
                             "kv_elements_read": LAYERS * 2 * kv_cache * D_MODEL})
    return b.finish()
