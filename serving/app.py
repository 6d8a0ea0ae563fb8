"""The Ray Serve app: a FastAPI ingress (`Api`) in front of a model deployment (`ModelServer`)
that holds models from the model store, several per replica (Serve model multiplexing by
"name@version"). Nothing happens at import: `app` is only a bound graph.

    serve run serving.app:app                         # local, store from RAYSYNTH_STORE
    serve run serving.app:build_app store=runs/demo/models max_num_samples=50000
    serve deploy serving/config.yaml                  # a cluster (see serving/README.md)
    synth serve --store runs/demo/models              # the same as serve run, from the CLI

A request without a version gets the pinned one (`pins`), else the newest complete version,
re-read from the store every `refresh_s` seconds: registering a new version switches traffic
to it without a redeploy, and requests in flight finish on the version they started with.
`reconfigure` (a new `user_config`) changes pins and limits in place."""


import asyncio
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import APIKeyHeader
from ray import serve
from ray.serve.handle import DeploymentHandle

from serving.catalog import Catalog, NotFound
from serving.generate import body_chunks, model_conditions
from serving.requests import Invalid, check_size
from serving.schemas import (
    MEDIA_TYPES,
    ErrorBody,
    GenerateRequest,
    GenerateResponse,
    Health,
    ModelInfo,
    ModelList,
)
from serving.settings import ServeSettings, keys_match, load_settings, read_api_key

MODELS_PER_REPLICA = 4
# Helpers sit above the deployments: `serve.ingress` captures the class when it is applied.
api = FastAPI(title="raysynth", version="1.0",
              description="Synthetic rows on demand from the models of a raysynth store.")
api_key = APIKeyHeader(name="X-API-Key", auto_error=False,
                       description="required when the server has an API key set")
ERRORS = {401: {"model": ErrorBody}, 404: {"model": ErrorBody}}


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


def _as_args(settings: ServeSettings) -> dict[str, Any]:
    import dataclasses

    return dataclasses.asdict(settings)


@serve.deployment(ray_actor_options={"num_cpus": 0.5}, max_ongoing_requests=16)
class ModelServer:
    """Loads models by "name@version" (at most MODELS_PER_REPLICA per replica, least recently
    used evicted) and generates response bodies."""

    def __init__(self, settings: dict[str, Any] | None = None, loader: Any = None) -> None:
        import torch

        torch.set_num_threads(1)  # replicas scale out; one thread each keeps latency flat
        self.settings = load_settings(settings)
        self.catalog = Catalog(self.settings.store_root, loader)

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        self.settings = load_settings({**_as_args(self.settings), **(user_config or {})})

    @serve.multiplexed(max_num_models_per_replica=MODELS_PER_REPLICA)
    async def get_model(self, mid: str) -> Any:
        name, version = mid.rsplit("@", 1)
        model = await asyncio.to_thread(self.catalog.loader, name, int(version))
        if _has_gpu():
            model.to_device("cuda")  # a replica given num_gpus runs the network there
        return model

    async def generate(self, body: dict[str, Any], head: dict[str, Any]) -> dict[str, Any]:
        """The whole body (small requests and parquet), or {"error": ...}."""
        model = await self.get_model(serve.get_multiplexed_model_id())
        return await asyncio.to_thread(self._whole, model, body, head)

    def _whole(self, model: Any, body: dict[str, Any], head: dict[str, Any]) -> dict[str, Any]:
        req = GenerateRequest.model_validate(body)
        try:
            conditions = model_conditions(model, req)
            chunks = body_chunks(model, req, conditions, self.settings.chunk_rows, head)
            return {"body": b"".join(chunks)}
        except Invalid as exc:
            return {"error": exc.to_json()}

    async def stream(self, body: dict[str, Any], head: dict[str, Any]
                     ) -> AsyncIterator[Any]:
        """First item: {"error": ...} or {"ok": True}; then the body's byte chunks."""
        model = await self.get_model(serve.get_multiplexed_model_id())
        req = GenerateRequest.model_validate(body)
        try:
            conditions = await asyncio.to_thread(model_conditions, model, req)
        except Invalid as exc:
            yield {"error": exc.to_json()}
            return
        yield {"ok": True}
        chunks = body_chunks(model, req, conditions, self.settings.chunk_rows, head)
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            yield chunk


@serve.deployment(ray_actor_options={"num_cpus": 0.25}, max_ongoing_requests=64)
@serve.ingress(api)
class Api:
    def __init__(self, server: DeploymentHandle, settings: dict[str, Any] | None = None
                 ) -> None:
        self.server = server
        self._configure(load_settings(settings))

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        self._configure(load_settings({**_as_args(self.settings), **(user_config or {})}))

    def _configure(self, settings: ServeSettings) -> None:
        self.settings, self.key = settings, read_api_key(settings)
        self.catalog = Catalog(settings.store_root, refresh_s=settings.refresh_s,
                               pins=settings.pins)

    def _auth(self, key: str | None) -> JSONResponse | None:
        if self.key is None or keys_match(key, self.key):
            return None
        return JSONResponse({"detail": "missing or wrong API key (header X-API-Key)"},
                            status_code=401)

    @api.get("/healthz", response_model=Health)
    async def healthz(self) -> Health:
        return Health(status="ok", models=len(self.catalog.listing()))

    @api.get("/v1/models", response_model=ModelList, responses=ERRORS)
    async def list_models(self, key: str | None = Security(api_key)) -> Any:
        if denied := self._auth(key):
            return denied
        infos = []
        for name in sorted(self.catalog.listing()):
            version = self.catalog.resolve(name, None)
            infos.append(await asyncio.to_thread(self.catalog.describe, name, version))
        return ModelList(models=[ModelInfo(**i) for i in infos])

    @api.get("/v1/models/{name}", response_model=ModelInfo, responses=ERRORS)
    async def get_model(self, name: str, version: int | None = None,
                        key: str | None = Security(api_key)) -> Any:
        if denied := self._auth(key):
            return denied
        try:
            version = self.catalog.resolve(name, version)
        except NotFound as exc:
            return JSONResponse({"detail": str(exc)}, status_code=404)
        return ModelInfo(**await asyncio.to_thread(self.catalog.describe, name, version))

    @api.post("/v1/models/{name}/generate", responses={
        **ERRORS, 200: {"model": GenerateResponse, "content": {
            t: {} for t in MEDIA_TYPES.values() if t != "application/json"}}})
    async def generate(self, name: str, req: GenerateRequest,
                       key: str | None = Security(api_key)) -> Response:
        if denied := self._auth(key):
            return denied
        try:
            check_size(req, self.settings.max_num_samples)
            version = self.catalog.resolve(name, req.version)
            image = await asyncio.to_thread(self.catalog.kind, name, version) == "image"
            if image:
                check_size(req, self.settings.max_num_images, "max_num_images")
        except Invalid as exc:
            return JSONResponse(exc.to_json(), status_code=422)
        except NotFound as exc:
            return JSONResponse({"detail": str(exc)}, status_code=404)
        head = {"model": name, "version": version, "num_samples": req.num_samples,
                "seed": req.seed}
        handle = self.server.options(multiplexed_model_id=model_id(name, version))
        body, media = req.model_dump(), MEDIA_TYPES[req.output_format]
        whole = req.output_format in ("parquet", "zip") or image
        if whole or req.num_samples <= self.settings.chunk_rows:
            out = await handle.generate.remote(body, head)
            if "error" in out:
                return JSONResponse(out["error"], status_code=422)
            return Response(out["body"], media_type=media)
        stream = handle.options(stream=True).stream.remote(body, head)
        first = await stream.__anext__()
        if "error" in first:
            return JSONResponse(first["error"], status_code=422)
        return StreamingResponse(_relay(stream), media_type=media)


def build_app(args: dict[str, Any] | None = None) -> Any:
    """The application for `serve run serving.app:build_app key=value ...` (args are
    ServeSettings fields; checked here, so a typo fails before anything is deployed)."""
    args = _parse_args(args or {})
    load_settings(args)
    return Api.bind(ModelServer.bind(args), args)


def _parse_args(args: dict[str, Any]) -> dict[str, Any]:
    """`serve run` passes every value as a string: read them as YAML scalars."""
    import yaml

    return {k: yaml.safe_load(v) if isinstance(v, str) and k != "store" else v
            for k, v in args.items()}


app = build_app()
