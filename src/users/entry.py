"""Users worker entry: the runtime's events in, the users app's answers out."""

from workers import WorkerEntrypoint

from users.app import build_app
from shared.platform import serve


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        return await serve(request, build_app(self.env))
