"""Background work: the SAQ queue, the task registry, timers and failed-job keeping."""
