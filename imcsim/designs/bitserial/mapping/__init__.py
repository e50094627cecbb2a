"""The bit-serial mapping: how a layer lands on subarrays, as work items with exact operation counts."""
