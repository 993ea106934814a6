// `rlhf-demo`: `rlhf demo` alone, so that the README's first command builds the numeric modules
// and the demo without the serving stack (gRPC, TLS, HTTP) that the whole tool links.

import Commands
import Kernels

// OpenBLAS reads OPENBLAS_CORETYPE once, when it loads: pick the fast kernels before anything runs.
BLAS.reexecWithFastKernelsIfNeeded()
// Reuse freed activation and gradient buffers instead of faulting fresh pages in every step.
HeapReuse.enable()

StandaloneDemoCommand.main(OptionSpelling.commandLine)
