"""The independent reference: the Python ``plspm`` package (0.5.7), run as the reference README
says agrees with the canonical algorithm: ``default_scale=Scale.NUM`` for standardised items (its
metric mode scales all items by one global deviation), metric ``scaled=False`` for centred items."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # third-party deprecation noise, not ours
    from plspm.config import MV, Config, Structure
    from plspm.mode import Mode
    from plspm.plspm import Plspm
    from plspm.scale import Scale
    from plspm.scheme import Scheme


def plspm_fit(data, blocks, paths, *, modes=None, scheme="path", scaled=True):
    modes = modes or {}
    structure = Structure()
    for source, target in paths:
        structure.add_path([source], [target])
    config = Config(structure.path(), scaled=scaled, default_scale=Scale.NUM if scaled else None)
    for construct, items in blocks.items():
        config.add_lv(construct, Mode[modes.get(construct, "A")], *[MV(i) for i in items])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Plspm(data, config, Scheme[scheme.upper()], iterations=500, tolerance=1e-12)
