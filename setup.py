"""Build of fastnn's compiled kernels: csrc/*.c plus the Cython wrapper, as fastnn._ops.

OpenMP is found by compiling and linking a tiny OpenMP program with the
compiler that will build the extension; without it the build still succeeds,
serial, and says so (and ``fastnn.build_info()["openmp"]`` is False).

Extra flags for a checking build come from the environment, opt-in, appended to
both the compile and the link commands of the extension and of the OpenMP probe
(so that a sanitizer build, whose objects need the sanitizer runtime at link
time, still finds OpenMP):

- FASTNN_EXTRA_CFLAGS, e.g. "-fsanitize=address,undefined -fno-omit-frame-pointer"
  or "-Wall -Wextra -Werror";
- FASTNN_EXTRA_LDFLAGS, e.g. "-fsanitize=address,undefined".

Both are split on whitespace (shlex rules). .ci/run uses them for its sanitizer
and warnings builds.

Flags stay portable: no -march=native. SIMD code is compiled for its target
only where it can run, and chosen at run time from what the CPU supports:

- the sources in MULTI_LEVEL_SOURCES are compiled once per SIMD level, from the
  same file, with -DFNN_LEVEL=<level> (csrc/simd_level.h turns that into the
  level's target and the _generic / _avx2 / _avx512 names), each level into its
  own object file; only the generic level where the compiler cannot target x86
  SIMD (another architecture, or a compiler without GCC's target pragmas);
- the GEMM micro-kernel files (csrc/gemm_ukernel_*.c) differ per architecture
  and set their targets themselves.
"""

import os
import shlex
import shutil
import sys
import tempfile
import textwrap
from glob import glob

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

try:
    from setuptools.modified import newer_group
except ImportError:  # setuptools older than 69
    from distutils.dep_util import newer_group

HERE = os.path.dirname(os.path.abspath(__file__))

# Compiled once per SIMD level (see the module docstring), not with the other sources.
MULTI_LEVEL_SOURCES = [
    "csrc/activation.c",
    "csrc/batchnorm.c",
    "csrc/check.c",
    "csrc/dropout.c",
    "csrc/loss.c",
]

# (level, value of FNN_LEVEL): the names of enum fnn_simd_level, lowest first
SIMD_LEVELS = [
    ("generic", "FNN_LEVEL_GENERIC"),
    ("avx2", "FNN_LEVEL_AVX2"),
    ("avx512", "FNN_LEVEL_AVX512"),
]

# Compiles exactly when csrc/internal.h enables the x86 SIMD code, so the levels
# setup.py builds are always the ones the C dispatch expects to find.
X86_SIMD_PROBE = textwrap.dedent(
    """
    #include "internal.h"
    #ifndef FNN_HAVE_X86_SIMD
    #error "no x86 SIMD targets with this compiler"
    #endif
    int fnn_probe(void) { return 0; }
    """
)

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


def _extra_flags():
    """(compile_flags, link_flags) from FASTNN_EXTRA_CFLAGS / FASTNN_EXTRA_LDFLAGS."""
    return (shlex.split(os.environ.get("FASTNN_EXTRA_CFLAGS", "")),
            shlex.split(os.environ.get("FASTNN_EXTRA_LDFLAGS", "")))


def _openmp_flags(compiler, extra_cflags=(), extra_ldflags=()):
    """Return (compile_flags, link_flags) for OpenMP, or None if it does not work.

    The extra flags take part in the probe so that the probe links the way the
    extension will (a sanitizer build needs its runtime at link time)."""
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
                objs = compiler.compile([src], output_dir=tmp, extra_postargs=cflags + list(extra_cflags))
                compiler.link_executable(objs, "probe", output_dir=tmp,
                                         extra_postargs=ldflags + list(extra_ldflags))
                return cflags, ldflags
            except Exception:  # a compiler or linker error: try the next spelling
                continue
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _simd_levels(compiler, include_dirs, cflags):
    """The SIMD levels to compile MULTI_LEVEL_SOURCES for with this compiler."""
    if compiler.compiler_type == "msvc":
        return SIMD_LEVELS[:1]
    tmp = tempfile.mkdtemp(prefix="fastnn-simd-")
    try:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as fh:
            fh.write(X86_SIMD_PROBE)
        try:
            compiler.compile([src], output_dir=tmp, include_dirs=include_dirs, extra_postargs=cflags)
        except Exception:  # a compile error: no x86 SIMD code in this build
            return SIMD_LEVELS[:1]
        return SIMD_LEVELS
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class BuildExt(build_ext):
    def build_extensions(self):
        compiler = self.compiler
        unix_like = compiler.compiler_type != "msvc"
        cflags = ["-O3", "-ffp-contract=fast", "-fno-math-errno"] if unix_like else ["/O2"]
        # csrc/probe.c makes its own threads
        ldflags = ["-pthread"] if unix_like else []
        extra_cflags, extra_ldflags = _extra_flags() if unix_like else ([], [])
        omp = _openmp_flags(compiler, extra_cflags, extra_ldflags)
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
        cflags += extra_cflags
        ldflags += extra_ldflags
        flag_text = " ".join(cflags)
        for ext in self.extensions:
            ext.extra_compile_args = cflags + list(ext.extra_compile_args or [])
            ext.extra_link_args = ldflags + list(ext.extra_link_args or [])
            ext.define_macros = list(ext.define_macros or []) + [
                ("FNN_BUILD_CFLAGS", '"%s"' % flag_text.replace('"', "")),
            ]
        include_dirs = [os.path.join(HERE, "csrc")]
        self.simd_levels = _simd_levels(compiler, include_dirs, cflags)
        super().build_extensions()

    def build_extension(self, ext):
        # the multi-level sources are in ext.depends, so a change to one rebuilds the extension
        target = self.get_ext_fullpath(ext.name)
        if self.force or newer_group(list(ext.sources) + list(ext.depends), target, "newer"):
            ext.extra_objects = list(ext.extra_objects or []) + self._level_objects(ext)
        super().build_extension(ext)

    def _level_objects(self, ext):
        """Compile MULTI_LEVEL_SOURCES once per SIMD level; return the object files."""
        objects = []
        for level, value in self.simd_levels:
            objects += self.compiler.compile(
                MULTI_LEVEL_SOURCES,
                output_dir=os.path.join(self.build_temp, "level_" + level),
                macros=list(ext.define_macros) + [("FNN_LEVEL", value)],
                include_dirs=ext.include_dirs,
                debug=self.debug,
                extra_postargs=ext.extra_compile_args,
                depends=ext.depends,
            )
        return objects


def extensions():
    from Cython.Build import cythonize

    csources = sorted(os.path.relpath(p, HERE) for p in glob(os.path.join(HERE, "csrc", "*.c")))
    ext = Extension(
        "fastnn._ops",
        sources=["fastnn/_ops.pyx"] + [c for c in csources if c not in MULTI_LEVEL_SOURCES],
        include_dirs=["csrc"],
        # the C interface: csrc/fastnn.h and its Cython declarations, fastnn/_fastnn.pxd
        depends=glob(os.path.join("csrc", "*.h")) + MULTI_LEVEL_SOURCES
        + [os.path.join("fastnn", "_fastnn.pxd")],
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
