# Online preprocessing of raw single-person stores for the CPU-sized configs
# (synthetic default data, MSR Action3D, Bandai): centre and align each
# convention by its layout roles, resample to 20 frames, one person.
cpu_prepare = [
    dict(type='MSPreNormalize'),
    dict(type='MSResample', clip_len=20),
    dict(type='MSPersonPadding', num_person=1),
]
