"""Build of fastnn's compiled kernels: csrc/*.c plus the Cython wrapper, as fastnn._ops.

OpenMP is found by compiling and linking a tiny OpenMP program with the
compiler that will build the extension; without it the build still succeeds,
serial, and says so (and ``fastnn.build_info()["openmp"]`` is False).

Flags stay portable: no -march=native. The GEMM's AVX2 and AVX-512
micro-kernels are compiled for their targets inside their own files and
chosen at run time from what the CPU supports.
"""

import os
import shutil
import sys
import tempfile
import textwrap
from glob import glob

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))

OPENMP_PROBE = textwrap.dedent(
    """
    #include <omp.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        return n > 0 && omp_get_max_threads() > 0 ? 0 : 1;
    }
    """
)


def _openmp_flags(compiler):
    """Return (compile_flags, link_flags) for OpenMP, or None if it does not work."""
    if compiler.compiler_type == "msvc":
        candidates = [(["/openmp"], [])]
    else:
        candidates = [(["-fopenmp"], ["-fopenmp"]), (["-Xpreprocessor", "-fopenmp"], ["-lomp"])]
    tmp = tempfile.mkdtemp(prefix="fastnn-openmp-")
    try:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as fh:
            fh.write(OPENMP_PROBE)
        for cflags, ldflags in candidates:
            try:
                objs = compiler.compile([src], output_dir=tmp, extra_postargs=cflags)
                compiler.link_executable(objs, "probe", output_dir=tmp, extra_postargs=ldflags)
                return cflags, ldflags
            except Exception:  # a compiler or linker error: try the next spelling
                continue
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class BuildExt(build_ext):
    def build_extensions(self):
        compiler = self.compiler
        unix_like = compiler.compiler_type != "msvc"
        cflags = ["-O3", "-ffp-contract=fast", "-fno-math-errno"] if unix_like else ["/O2"]
        ldflags = []
        omp = _openmp_flags(compiler)
        if omp is None:
            sys.stderr.write(
                "\nwarning: fastnn: the compiler does not accept OpenMP; building the "
                "kernels serial (fastnn.build_info()['openmp'] will be False).\n\n"
            )
            if unix_like:
                cflags.append("-Wno-unknown-pragmas")
        else:
            cflags += omp[0]
            ldflags += omp[1]
        flag_text = " ".join(cflags)
        for ext in self.extensions:
            ext.extra_compile_args = cflags + list(ext.extra_compile_args or [])
            ext.extra_link_args = ldflags + list(ext.extra_link_args or [])
            ext.define_macros = list(ext.define_macros or []) + [
                ("FNN_BUILD_CFLAGS", '"%s"' % flag_text.replace('"', "")),
            ]
        super().build_extensions()


def extensions():
    from Cython.Build import cythonize

    csources = sorted(os.path.relpath(p, HERE) for p in glob(os.path.join(HERE, "csrc", "*.c")))
    ext = Extension(
        "fastnn._ops",
        sources=["fastnn/_ops.pyx"] + csources,
        include_dirs=["csrc"],
        # the C interface: csrc/fastnn.h and its Cython declarations, fastnn/_fastnn.pxd
        depends=glob(os.path.join("csrc", "*.h")) + [os.path.join("fastnn", "_fastnn.pxd")],
    )
    return cythonize(
        [ext],
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "initializedcheck": False,
            "cdivision": True,
        },
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
