"""Models for the measured-compute tests (issue 17): each one's MACs are hand-counted there."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ViTBlock(nn.Module):
    """A pre-norm transformer encoder block: LayerNorm, multi-head self-attention written
    with F.scaled_dot_product_attention, LayerNorm, a 4x MLP."""

    def __init__(self, dim: int = 64, heads: int = 4, mlp: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, mlp * dim)
        self.fc2 = nn.Linear(mlp * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, d // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        a = F.scaled_dot_product_attention(q, k, v)
        x = x + self.proj(a.transpose(1, 2).reshape(b, n, d))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class MHABlock(nn.Module):
    """The same block's attention through nn.MultiheadAttention (a fused kernel on CPU)."""

    def __init__(self, dim: int = 64, heads: int = 4) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(x)
        out, _ = self.attn(y, y, y, need_weights=False)
        return x + out


class Conv1D(nn.Module):
    """Hugging Face GPT-2's Conv1D: a linear layer with its weight stored (in, out)."""

    def __init__(self, nf: int, nx: int) -> None:
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.randn(nx, nf) * 0.02)
        self.bias = nn.Parameter(torch.zeros(nf))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size_out = (*x.size()[:-1], self.nf)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


class GPT2Block(nn.Module):
    """A GPT-2 decoder block with Conv1D layers and a causal attention written with matmul."""

    def __init__(self, dim: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(dim)
        self.c_attn = Conv1D(3 * dim, dim)
        self.c_proj = Conv1D(dim, dim)
        self.ln_2 = nn.LayerNorm(dim)
        self.c_fc = Conv1D(4 * dim, dim)
        self.c_mlp_proj = Conv1D(dim, 4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        h = self.heads
        q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
        q = q.view(b, n, h, d // h).transpose(1, 2)
        k = k.view(b, n, h, d // h).transpose(1, 2)
        v = v.view(b, n, h, d // h).transpose(1, 2)
        w = torch.matmul(q, k.transpose(-1, -2)) / (d // h) ** 0.5
        mask = torch.ones(n, n, dtype=torch.bool, device=x.device).tril()
        w = w.masked_fill(~mask, float("-inf")).softmax(-1)
        a = torch.matmul(w, v).transpose(1, 2).reshape(b, n, d)
        x = x + self.c_proj(a)
        return x + self.c_mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class EinsumNet(nn.Module):
    """A product no module owns: einsum and @ directly in the model's own forward."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(8, 6))
        self.head = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.einsum("bi,ij->bj", x, self.w)
        return self.head(y @ torch.eye(6, device=x.device))


def vit_block() -> ViTBlock:
    return ViTBlock()


def mha_block() -> MHABlock:
    return MHABlock()


def gpt2_block() -> GPT2Block:
    return GPT2Block()


def einsum_net() -> EinsumNet:
    return EinsumNet()
