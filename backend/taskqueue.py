"""Huey classes that carry the enqueuing request's id into the task that runs later.

The id rides in the task's kwargs under a private key, popped just before the
task function sees its arguments, so task signatures stay unchanged.
"""

from huey import RedisHuey, SqliteHuey

from backend.observability.context import current_request_id, new_request_id, request_id_var

REQUEST_ID_KWARG = "_request_id"


class RequestIdCarrier:
    def enqueue(self, task):
        request_id = current_request_id()
        if request_id and hasattr(task, "kwargs"):
            task.kwargs = {**(task.kwargs or {}), REQUEST_ID_KWARG: request_id}
        return super().enqueue(task)

    def execute(self, task, timestamp=None):
        # Read, not pop: a task that is not due yet goes back to the schedule with its id intact.
        kwargs = getattr(task, "kwargs", None) or {}
        token = request_id_var.set(kwargs.get(REQUEST_ID_KWARG) or new_request_id())
        try:
            return super().execute(task, timestamp)
        finally:
            request_id_var.reset(token)

    def _execute(self, task, timestamp):
        # The task is running now: its function must not see the private kwarg. A retry
        # re-enqueues it, and enqueue() puts the id (still current) back.
        if getattr(task, "kwargs", None):
            task.kwargs.pop(REQUEST_ID_KWARG, None)
        return super()._execute(task, timestamp)


class TracedRedisHuey(RequestIdCarrier, RedisHuey):
    pass


class TracedSqliteHuey(RequestIdCarrier, SqliteHuey):
    pass
