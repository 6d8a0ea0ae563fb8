"""The Ray Serve app: a FastAPI ingress (`Api`) in front of a model deployment (`ModelServer`)
that holds models from the model store, several per replica (Serve model multiplexing by
"name@version"). Nothing happens at import: `app` is built when asked for.

    serve run serving.app:app                         # store from RAYSYNTH_STORE, key from env
    serve run serving.app:build_app store=runs/demo/models api_key_file=/run/secrets/key
    serve run serving.app:build_app store=runs/demo/models auth=none   # open, on a laptop
    serve deploy serving/config.yaml                  # a cluster (see serving/README.md)
    synth serve --store runs/demo/models              # the same as serve run, from the CLI

A request without a version gets the pinned one (`pins`), else the newest complete version,
re-read from the store every `refresh_s` seconds: registering a new version switches traffic
to it without a redeploy, and requests in flight finish on the version they started with.
`reconfigure` (a new `user_config`) changes pins and limits in place (never auth).

Hardening (README "Security"): the Guard middleware checks the API key before the body is read
and bounds the body's size and arrival time; the app refuses to start without a key unless
`auth: none`; each request's work has a time budget (408) and runs in a light or a heavy lane
(serving/lanes.py: overload is a 503 with Retry-After); a streamed body is checked on its first
block before the 200 and ends with an error trailer if it fails later. Heavy requests run on
their own deployment (HEAVY_DEPLOYMENT): a bulkhead between them and the plain ones."""


import asyncio
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import APIKeyHeader
from ray import serve
from ray.serve.exceptions import BackPressureError
from ray.serve.handle import DeploymentHandle

from serving import guard
from serving.auth import KeyRing
from serving.catalog import Catalog, NotFound
from serving.generate import body_chunks, model_conditions, open_stream
from serving.lanes import RETRY_AFTER_S, Lanes, Overloaded, is_heavy
from serving.requests import Invalid, check_groups, check_size
from serving.schemas import (
    MEDIA_TYPES,
    BrokenModel,
    ErrorBody,
    GenerateRequest,
    GenerateResponse,
    Health,
    ModelInfo,
    ModelList,
)
from serving.settings import ServeSettings, load_settings, reconfigured
from synth.budget import Budget
from synth.errors import BudgetExceeded, ModelLoadError

MODELS_PER_REPLICA = 4
# Bulkheads: conditioned, streamed and whole-file requests go to replicas of their own (the
# same ModelServer code under this name), so their work never shares a process, its GIL or
# its request slots with the plain requests; each side autoscales on its own load.
HEAVY_DEPLOYMENT = "HeavyModelServer"
HEAVY_NICE = 10  # the heavy replicas' CPU priority below the plain ones (Unix nice)
# Helpers sit above the deployments: `serve.ingress` captures the class when it is applied.
api = FastAPI(title="raysynth", version="1.0",
              description="Synthetic rows on demand from the models of a raysynth store.")
api.add_middleware(guard.Guard)  # auth and body limits, before FastAPI reads a byte of the body
api_key = APIKeyHeader(name="X-API-Key", auto_error=False,
                       description="required unless the server runs with auth: none (checked "
                                   "by the Guard middleware before the body is read)")
ERRORS = {401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 413: {"model": ErrorBody}}
GENERATE_ERRORS = {**ERRORS, 408: {"model": ErrorBody}, 503: {"model": ErrorBody}}


@api.exception_handler(RequestValidationError)
async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 listing each bad field (without echoing the whole input back)."""
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
              for e in exc.errors()]
    return JSONResponse({"detail": errors}, status_code=422)


def model_id(name: str, version: int) -> str:
    return f"{name}@{version}"


async def _relay(stream: Any) -> AsyncIterator[bytes]:
    async for chunk in stream:
        yield chunk


def _has_gpu() -> bool:
    import ray

    return bool(ray.get_gpu_ids())


def failure(status: int, detail: Any, retry_after: int | None = None) -> dict[str, Any]:
    """A request's error as the model deployment returns it to the ingress."""
    body = detail if isinstance(detail, dict) else {"detail": detail}
    return {"error": body, "status": status, "retry_after": retry_after}


def error_response(out: dict[str, Any]) -> JSONResponse:
    headers = {"Retry-After": str(out["retry_after"])} if out.get("retry_after") else None
    return JSONResponse(out["error"], status_code=out.get("status", 422), headers=headers)


def _guarded(run: Any, budget: Budget, *args: Any) -> Any:
    """`run(*args)` in this worker thread under the request's time budget."""
    with budget.active():
        return run(*args)


@serve.deployment(ray_actor_options={"num_cpus": 0.5}, max_ongoing_requests=32,
                  max_queued_requests=64)
class ModelServer:
    """Loads models by "name@version" (at most MODELS_PER_REPLICA per replica, least recently
    used evicted) and generates response bodies."""

    def __init__(self, settings: dict[str, Any] | None = None, loader: Any = None,
                 heavy: bool = False) -> None:
        import os

        import torch

        torch.set_num_threads(1)  # replicas scale out; one thread each keeps latency flat
        if heavy:  # where heavy and plain replicas share a node's cores, plain ones go first
            os.nice(HEAVY_NICE)
        self.settings = load_settings(settings)
        self.catalog = Catalog(self.settings.store_root, loader)
        self.lanes = Lanes(self.settings.max_heavy_requests)

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        self.settings = reconfigured(self.settings, user_config)
        self.lanes = Lanes(self.settings.max_heavy_requests)

    @serve.multiplexed(max_num_models_per_replica=MODELS_PER_REPLICA)
    async def get_model(self, mid: str) -> Any:
        name, version = mid.rsplit("@", 1)
        model = await asyncio.to_thread(self.catalog.loader, name, int(version))
        if _has_gpu():
            model.to_device("cuda")  # a replica given num_gpus runs the network there
        return model

    async def generate(self, body: dict[str, Any], head: dict[str, Any]) -> dict[str, Any]:
        """{"body": the whole body} (small requests, parquet, images) or a failure()."""
        try:
            model = await self.get_model(serve.get_multiplexed_model_id())
        except ModelLoadError as exc:
            return failure(503, str(exc))
        req = GenerateRequest.model_validate(body)
        budget = Budget(self.settings.request_timeout_s)
        try:
            async with self.lanes.slot(is_heavy(req, self.settings.chunk_rows), budget):
                return await asyncio.to_thread(_guarded, self._whole, budget, model, req, head)
        except Overloaded as exc:
            return failure(503, str(exc), RETRY_AFTER_S)
        except asyncio.CancelledError:  # the client went away: stop the thread's work too
            budget.cancel()
            raise

    def _whole(self, model: Any, req: GenerateRequest, head: dict[str, Any]) -> dict[str, Any]:
        try:
            conditions = model_conditions(model, req)
            chunks = body_chunks(model, req, conditions, self.settings.chunk_rows, head)
            return {"body": b"".join(chunks)}
        except Invalid as exc:
            return failure(422, exc.to_json())
        except BudgetExceeded as exc:
            return failure(408, str(exc))

    async def stream(self, body: dict[str, Any], head: dict[str, Any]
                     ) -> AsyncIterator[Any]:
        """First item: a failure() or {"ok": True}; then the body's byte chunks. The first
        block of rows exists before "ok", so an infeasible request never gets a 200."""
        try:
            model = await self.get_model(serve.get_multiplexed_model_id())
        except ModelLoadError as exc:
            yield failure(503, str(exc))
            return
        req = GenerateRequest.model_validate(body)
        budget = Budget(self.settings.request_timeout_s)
        try:
            async with self.lanes.slot(True, budget):
                try:
                    chunks, first = await asyncio.to_thread(_guarded, self._open, budget,
                                                            model, req, head)
                except Invalid as exc:
                    yield failure(422, exc.to_json())
                    return
                except BudgetExceeded as exc:
                    yield failure(408, str(exc))
                    return
                yield {"ok": True}
                if first is not None:
                    yield first
                while (chunk := await asyncio.to_thread(_guarded, next, budget, chunks, None)
                       ) is not None:
                    yield chunk
        except Overloaded as exc:
            yield failure(503, str(exc), RETRY_AFTER_S)
        finally:
            budget.cancel()  # the stream ended or the client left: no more work either way

    def _open(self, model: Any, req: GenerateRequest, head: dict[str, Any]
              ) -> tuple[Any, bytes | None]:
        conditions = model_conditions(model, req)
        chunks = open_stream(model, req, conditions, self.settings.chunk_rows, head)
        return chunks, next(chunks, None)


@serve.deployment(ray_actor_options={"num_cpus": 0.25}, max_ongoing_requests=64)
@serve.ingress(api)
class Api:
    def __init__(self, server: DeploymentHandle, heavy: DeploymentHandle | None = None,
                 settings: dict[str, Any] | None = None) -> None:
        self.server, self.heavy = server, heavy or server
        self._configure(load_settings(settings))

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        self._configure(reconfigured(self.settings, user_config))

    def _configure(self, settings: ServeSettings) -> None:
        keys = KeyRing(settings)  # no key and no explicit auth: none -> refuse to start
        self.settings = settings
        self.catalog = Catalog(settings.store_root, refresh_s=settings.refresh_s,
                               pins=settings.pins)
        # through the module: the deployment class may be pickled by value, its globals copied
        guard.configure(keys, settings.max_body_bytes, settings.body_timeout_s)

    @api.get("/healthz", response_model=Health)
    async def healthz(self) -> Health:
        return Health(status="ok", models=len(await asyncio.to_thread(self.catalog.listing)))

    @api.get("/v1/models", response_model=ModelList, responses=ERRORS)
    async def list_models(self, key: str | None = Security(api_key)) -> Any:
        infos, broken = await asyncio.to_thread(self.catalog.describe_all)
        return ModelList(models=[ModelInfo(**i) for i in infos],
                         broken=[BrokenModel(**b) for b in broken])

    @api.get("/v1/models/{name}", response_model=ModelInfo, responses=ERRORS)
    async def get_model(self, name: str, version: int | None = None,
                        key: str | None = Security(api_key)) -> Any:
        try:
            version = await asyncio.to_thread(self.catalog.resolve, name, version)
            info = await asyncio.to_thread(self.catalog.describe, name, version)
        except NotFound as exc:
            return JSONResponse({"detail": str(exc)}, status_code=404)
        except ModelLoadError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=503)
        return ModelInfo(**info)

    @api.post("/v1/models/{name}/generate", responses={
        **GENERATE_ERRORS, 200: {"model": GenerateResponse, "content": {
            t: {} for t in MEDIA_TYPES.values() if t != "application/json"}}})
    async def generate(self, name: str, req: GenerateRequest,
                       key: str | None = Security(api_key)) -> Response:
        try:
            check_size(req, self.settings.max_num_samples)
            check_groups(req, self.settings.max_condition_groups)
            version = await asyncio.to_thread(self.catalog.resolve, name, req.version)
            image = await asyncio.to_thread(self.catalog.kind, name, version) == "image"
            if image:
                check_size(req, self.settings.max_num_images, "max_num_images")
        except Invalid as exc:
            return JSONResponse(exc.to_json(), status_code=422)
        except NotFound as exc:
            return JSONResponse({"detail": str(exc)}, status_code=404)
        except ModelLoadError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=503)
        head = {"model": name, "version": version, "num_samples": req.num_samples,
                "seed": req.seed}
        pool = self.heavy if is_heavy(req, self.settings.chunk_rows) else self.server
        handle = pool.options(multiplexed_model_id=model_id(name, version))
        body, media = req.model_dump(), MEDIA_TYPES[req.output_format]
        whole = req.output_format in ("parquet", "zip") or image
        try:
            if whole or req.num_samples <= self.settings.chunk_rows:
                out = await handle.generate.remote(body, head)
                if "error" in out:
                    return error_response(out)
                return Response(out["body"], media_type=media)
            stream = handle.options(stream=True).stream.remote(body, head)
            first = await stream.__anext__()
        except BackPressureError:
            return JSONResponse({"detail": "the model replicas are at capacity; retry later"},
                                status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})
        if "error" in first:
            return error_response(first)
        return StreamingResponse(_relay(stream), media_type=media)


def build_app(args: dict[str, Any] | None = None) -> Any:
    """The application for `serve run serving.app:build_app key=value ...` (args are
    ServeSettings fields; checked here, so a typo fails before anything is deployed)."""
    args = _parse_args(args or {})
    KeyRing(load_settings(args))  # bad settings or no key (without auth: none) fail here
    heavy = ModelServer.options(name=HEAVY_DEPLOYMENT).bind(args, None, True)
    return Api.bind(ModelServer.bind(args), heavy, args)


def _parse_args(args: dict[str, Any]) -> dict[str, Any]:
    """`serve run` passes every value as a string: read them as YAML scalars."""
    import yaml

    return {k: yaml.safe_load(v) if isinstance(v, str) and k != "store" else v
            for k, v in args.items()}


def __getattr__(name: str) -> Any:
    """`serving.app:app` (`serve run serving.app:app`): the app with default settings, built
    when asked for, not at import (without a key it refuses to build: auth fails closed)."""
    if name == "app":
        return build_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
