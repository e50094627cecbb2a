"""Design kinds as plug-ins: one subpackage per kind (its arch schema, cost model,
mapping, area, functional and accuracy hooks, report details) behind one protocol
(`designs.protocol.DesignKind`), found by name through `designs.registry`.

    bitserial/   digital bit-serial subarrays (ParaPIM, FAT, the SRAM variant)
    crossbar/    analog crossbars (ReRAM with the nonlinear ramp ADC, PCM, AID 6T-SRAM)
    photonic/    photonic tensor cores
"""
