"""Shipped data, read through importlib.resources: the reference designs (arch_configs/,
circuit files in arch_configs/circuits/), the sweep specs and the small networks
(workloads/). In a clone these are links to the top-level folders; a wheel holds copies."""
