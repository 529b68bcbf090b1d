"""Schedule: when refreshes run, and who runs them. Entry point: `run_scheduler(runtime, stop)`.

- scheduler.py: one APScheduler job per source, back-off, the catalogue watcher.
- jobs.py: what one refresh job does, wherever it runs; the RQ queue and workers.
Which of several scheduler processes leads is store/leadership.py's: a Redis lease and its keys.
"""

from .scheduler import build_scheduler, prepare, run_scheduler, sync_jobs, tick

__all__ = ["build_scheduler", "prepare", "run_scheduler", "sync_jobs", "tick"]
