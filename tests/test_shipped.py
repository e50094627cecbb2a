"""Shipped configs are found in ./arch_configs, the source tree, or an install's share/."""

from __future__ import annotations

import imcsim.shipped as shipped


def test_lookup_order(tmp_path, monkeypatch):
    src, inst, cwd = tmp_path / "src", tmp_path / "inst", tmp_path / "cwd"
    for base in (src, inst, cwd / "arch_configs"):
        (base / "circuits").mkdir(parents=True)
    monkeypatch.setattr(shipped, "SOURCE_TREE", src)
    monkeypatch.setattr(shipped, "INSTALLED", inst)
    monkeypatch.chdir(cwd)
    (inst / "fat.yaml").write_text("x")
    assert shipped.shipped_config("fat.yaml") == inst / "fat.yaml"  # a regular install
    (src / "fat.yaml").write_text("x")
    assert shipped.shipped_config("fat.yaml") == src / "fat.yaml"  # the source tree
    (cwd / "arch_configs" / "fat.yaml").write_text("x")
    assert shipped.shipped_config("fat.yaml").resolve() == (cwd / "arch_configs" / "fat.yaml")
    assert shipped.shipped_config("fat.yaml", prefer_cwd=False) == src / "fat.yaml"
    # nothing anywhere: the source-tree path, for the error message
    assert shipped.shipped_config("circuits/none.yaml") == src / "circuits" / "none.yaml"
