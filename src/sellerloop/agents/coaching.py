"""(being built)"""
from __future__ import annotations

from sellerloop.composers.base import Brief, Section

SECTIONS: list[Section] = []


def gather(**kwargs) -> Brief:
    raise NotImplementedError("coaching is being built")
