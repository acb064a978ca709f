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

#: set once the controller is registered (at most once per process)
registered = False


def register() -> bool:
    """Register fastnn's controller with threadpoolctl, if it is installed and can take one.

    Returns
    -------
    bool
        True when fastnn's kernels now follow ``threadpool_limits``.
    """
    global registered
    if registered:
        return True
    try:
        import threadpoolctl
    except ImportError:
        return False
    if not (hasattr(threadpoolctl, "register") and hasattr(threadpoolctl, "LibController")):
        return False  # threadpoolctl < 3.2 has no third-party controllers

    from . import __version__

    class FastnnController(threadpoolctl.LibController):
        """The thread count of fastnn's compiled kernels, read and set through its C entry points."""

        user_api = "openmp"
        internal_api = "fastnn"
        # the extension module fastnn._ops: _ops.cpython-311-x86_64-linux-gnu.so and the like
        filename_prefixes = ("_ops.",)
        # a library of another package that is also called _ops has none of these
        check_symbols = ("fnn_get_num_threads", "fnn_set_num_threads")

        def get_num_threads(self):
            return self.dynlib.fnn_get_num_threads()

        def set_num_threads(self, num_threads):
            self.dynlib.fnn_set_num_threads(int(num_threads))

        def get_version(self):
            return __version__

    threadpoolctl.register(FastnnController)
    registered = True
    return True
