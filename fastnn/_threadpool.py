"""fastnn's thread pool as threadpoolctl sees it.

scikit-learn, joblib and Dask keep nested parallelism in check with
threadpoolctl: ``threadpool_limits(n)`` caps every thread pool it knows for as
long as it is in force, and puts the previous counts back when it ends. fastnn
registers a controller for its compiled module, under the user API "openmp"
(its threads are OpenMP threads), so that ``threadpool_limits(n)`` and
``threadpool_limits(n, user_api="openmp")`` set the count the kernels use
(``fastnn.get_num_threads()``), and ``threadpool_info()`` lists it with
internal API "fastnn".

The count is fastnn's own, for the whole process: fastnn passes it to every
parallel region explicitly, so the OpenMP runtime's limit (which
threadpoolctl also sets, for the calling thread) would not reach the kernels
by itself.
"""

from __future__ import annotations

import os

#: set once the controller is registered (at most once per process)
registered = False
#: the registered threadpoolctl.LibController subclass (None until then)
Controller = None


def register() -> bool:
    """Register fastnn's controller with threadpoolctl, if it is installed and can take one.

    Returns
    -------
    bool
        True when fastnn's kernels now follow ``threadpool_limits``.
    """
    global registered, Controller
    if registered:
        return True
    try:
        import threadpoolctl
    except ImportError:
        return False
    if not (hasattr(threadpoolctl, "register") and hasattr(threadpoolctl, "LibController")):
        return False  # threadpoolctl < 3.2 takes no controllers from other packages

    import fastnn

    from . import _ops

    module_path = os.path.realpath(_ops.__file__)

    class FastnnController(threadpoolctl.LibController):
        """The thread count of fastnn's compiled kernels, through fastnn's own API."""

        user_api = "openmp"
        internal_api = "fastnn"
        # threadpoolctl matches loaded libraries by file name: the compiled module's own name
        filename_prefixes = (os.path.basename(module_path).lower(),)
        # every Python extension called _ops exports this; the path check below tells them apart
        check_symbols = (f"PyInit_{_ops.__name__.rpartition('.')[2]}",)

        def set_additional_attributes(self):
            # threadpoolctl skips a library whose controller raises OSError here: another
            # package's module of the same file name is not fastnn's
            if os.path.realpath(self.filepath) != module_path:
                raise OSError(f"{self.filepath} is not fastnn's compiled module")

        def get_num_threads(self):
            return fastnn.get_num_threads()

        def set_num_threads(self, num_threads):
            fastnn.set_num_threads(int(num_threads))

        def get_version(self):
            return fastnn.__version__

    threadpoolctl.register(FastnnController)
    Controller, registered = FastnnController, True
    return True
