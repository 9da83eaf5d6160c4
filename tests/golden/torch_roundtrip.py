"""torch_roundtrip.py — loads weights that dnnc-generated code saved into
the PyTorch twins and compares the outputs.

    /usr/bin/python3 tests/golden/torch_roundtrip.py DIR CASE ...

For each CASE, DIR/CASE.trained.safetensors is what CASE_save wrote after
the harness's 20 training steps, and DIR/CASE.out.f32 the C forward output
on the golden x (raw float32). The file must load into the twin with
load_state_dict(strict=True) (same keys, shapes and layouts), and the twin's
float32 output must match within |a - b| <= 1e-5 + 1e-4·|b|. Prints
"PASS golden/CASE torch" or "FAIL golden/CASE torch: why" per case.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from twins import HERE, TWINS, read_safetensors


def roundtrip(tmp, name):
    trained = os.path.join(tmp, name + ".trained.safetensors")
    if not os.path.exists(trained):
        return "the harness wrote no trained weights"
    golden = read_safetensors(os.path.join(HERE, "data", name + ".golden.safetensors"))
    m = TWINS[name]()
    state = {k: torch.from_numpy(v.copy()) for k, v in read_safetensors(trained).items()}
    try:
        m.load_state_dict(state, strict=True)
    except RuntimeError as e:
        return "load_state_dict: " + " ".join(str(e).split())[:300]
    m.eval()
    x = torch.from_numpy(golden["x"].copy())
    y = torch.from_numpy(golden["y"].copy())
    with torch.no_grad():
        want = m.run(x, y)[0].numpy().reshape(-1)
    got = np.fromfile(os.path.join(tmp, name + ".out.f32"), dtype="<f4")
    if got.size != want.size:
        return "C output has %d values, PyTorch %d" % (got.size, want.size)
    err = np.abs(got.astype(np.float64) - want)
    bad = np.nonzero(err > 1e-5 + 1e-4 * np.abs(want))[0]
    if bad.size:
        i = bad[0]
        return "out[%d] = %.7g from C, %.7g from PyTorch (%d mismatches)" % (i, got[i], want[i], bad.size)
    return None


def main(argv):
    torch.set_num_threads(1)
    tmp, failed = argv[0], 0
    for name in argv[1:]:
        why = roundtrip(tmp, name)
        if why:
            print("FAIL golden/%s torch: %s" % (name, why))
            failed = 1
        else:
            print("PASS golden/%s torch" % name)
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
