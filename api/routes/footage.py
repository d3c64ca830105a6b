"""HTTP routes: footage uploads (single request, and resumable per tus 1.0.0 core) and the camera's segments.

Uploads: admins, or the manager of the camera's site. Segment listing: admins, officers, that manager.
The bytes go to disk as they arrive (``footage.uploads``); the finished file takes the same path as
``gatewatch import`` (``api.ingest``), in a worker thread so the event loop keeps answering.

Resumable protocol (tus 1.0.0 core, creation extension): ``POST /cameras/{id}/uploads`` with
``Upload-Length`` and ``Upload-Metadata: filename <base64>,start <base64>`` -> 201 + ``Location``;
``PATCH /uploads/{id}`` with ``Upload-Offset`` and ``Content-Type: application/offset+octet-stream``
-> 204 + the new ``Upload-Offset``; ``HEAD /uploads/{id}`` -> ``Upload-Offset``/``Upload-Length``. After a
dropped connection, HEAD and PATCH again from the offset. When the last byte arrives the import runs (claimed
once in the database, so a repeated or racing last PATCH gets 409, never a second import) and
``GET /uploads/{id}`` holds its result. An upload the disk cannot take above its reserve gets 507; a user with
too many unfinished uploads, 429.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from api import audit
from api.auth import Principal
from api.deps import DbSession, client_addr, reachable_camera, require_role
from api.ingest import ingest_upload, segment_rows
from api.schemas.footage import ImportResultOut, SegmentOut, UploadStatus
from footage import uploads
from footage.catalogue import CatalogueError, parse_time
from footage.settings import get_settings
from footage.storage import DiskFull, check_free_space

router = APIRouter(tags=["footage"])

Uploader = Annotated[Principal, Depends(require_role("admin", "manager"))]
Viewer = Annotated[Principal, Depends(require_role("admin", "manager", "officer"))]
TUS = {"Tus-Resumable": "1.0.0"}
UNPROCESSABLE = status.HTTP_422_UNPROCESSABLE_CONTENT


def _http(exc: uploads.UploadError) -> HTTPException:
    codes = {
        uploads.UploadNotFound: status.HTTP_404_NOT_FOUND,
        uploads.OffsetMismatch: status.HTTP_409_CONFLICT,
        uploads.UploadBusy: status.HTTP_409_CONFLICT,
        uploads.UploadFinished: status.HTTP_409_CONFLICT,
        uploads.UploadImporting: status.HTTP_409_CONFLICT,
        uploads.UploadTooLarge: status.HTTP_413_CONTENT_TOO_LARGE,
        uploads.NoSpace: status.HTTP_507_INSUFFICIENT_STORAGE,
        uploads.TooManyUploads: status.HTTP_429_TOO_MANY_REQUESTS,
    }
    return HTTPException(codes.get(type(exc), UNPROCESSABLE), str(exc), headers=TUS)


def _check_start(start: str | None, timezone: str) -> None:
    if start:
        try:
            parse_time(start, timezone)
        except CatalogueError as exc:
            raise HTTPException(UNPROCESSABLE, str(exc)) from exc


@router.get("/cameras/{camera_id}/segments", response_model=list[SegmentOut])
def get_segments(camera_id: str, session: DbSession, principal: Viewer) -> list[dict[str, Any]]:
    """The camera's segments, oldest first, each with its latest indexing job."""
    reachable_camera(session, principal, camera_id)
    return segment_rows(session, camera_id)


@router.post("/cameras/{camera_id}/footage", status_code=status.HTTP_201_CREATED, response_model=ImportResultOut,
             responses={413: {"description": "Larger than the configured limit."},
                        422: {"description": "Refused: the import result is in detail."}})
async def post_footage(
    camera_id: str, request: Request, session: DbSession, principal: Uploader,
    filename: Annotated[str | None, Query(description="The file's own name (its start time may be read from it).")]
    = None,
    start: Annotated[str | None, Query(description="ISO 8601 start; without an offset, in the camera's zone.")]
    = None,
    x_filename: Annotated[str | None, Header(description="Alternative to the filename query.")] = None,
    x_start: Annotated[str | None, Header(description="Alternative to the start query.")] = None,
) -> dict[str, Any]:
    """Upload one file in the request body (raw bytes); it is stored, probed and imported, or refused."""
    camera = await run_in_threadpool(reachable_camera, session, principal, camera_id)
    try:
        name = uploads.clean_filename(filename or x_filename)
    except uploads.UploadError as exc:
        raise _http(exc) from exc
    stated = start or x_start
    _check_start(stated, camera.timezone)
    limit = get_settings().max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            f"the file is {declared} bytes, over this service's limit of {limit} bytes; "
                            "split the export into shorter files")
    try:
        # Without a Content-Length the stream is cut at the limit; with one, the disk must hold it first.
        check_free_space(int(declared) if declared and declared.isdigit() else 0, f"the upload of {name}",
                         pending=await run_in_threadpool(uploads.pending_bytes))
    except DiskFull as exc:
        raise HTTPException(status.HTTP_507_INSUFFICIENT_STORAGE, str(exc)) from exc
    part = uploads.new_single_part()
    hasher = hashlib.sha256()
    try:
        written, whole = await uploads.write_stream(part, request.stream(), limit, hasher)
    except uploads.UploadTooLarge as exc:
        part.unlink(missing_ok=True)
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            f"the file is over this service's limit of {limit} bytes; split the export") from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    if not whole:
        part.unlink(missing_ok=True)
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the upload was cut off before its end; send it again")
    result = await run_in_threadpool(ingest_upload, session, part, hasher.hexdigest(), written, camera.id, name,
                                     stated, principal.name, client_addr(request))
    part.unlink(missing_ok=True)
    body = result.to_dict()
    if result.refused:
        raise HTTPException(UNPROCESSABLE, body)
    return body


@router.post("/cameras/{camera_id}/uploads", status_code=status.HTTP_201_CREATED,
             responses={201: {"description": "Created; Location holds the upload's URL."}})
def post_upload(
    camera_id: str, request: Request, response: Response, session: DbSession, principal: Uploader,
    upload_length: Annotated[int, Header(ge=0, description="Total bytes of the file.")],
    upload_metadata: Annotated[str | None, Header(description="tus: 'filename <base64>,start <base64>'.")] = None,
) -> dict[str, Any]:
    """Start a resumable upload (tus 1.0.0 creation)."""
    camera = reachable_camera(session, principal, camera_id)
    try:
        metadata = uploads.parse_metadata(upload_metadata)
        _check_start(metadata.get("start"), camera.timezone)
        state = uploads.create(camera.id, metadata.get("filename"), upload_length, metadata.get("start"),
                               principal.name)
    except uploads.UploadError as exc:
        raise _http(exc) from exc
    audit.record(session, user_name=principal.name, action="upload_start", obj=f"camera:{camera.id}",
                 detail={"upload": state.id, "filename": state.filename, "length": state.length,
                         "start": state.start}, remote_addr=client_addr(request))
    session.commit()
    location = f"{get_settings().base_url}/api/v1/uploads/{state.id}"
    response.headers.update({**TUS, "Location": location, "Upload-Offset": "0"})
    return {"id": state.id, "location": location, **state.to_dict()}


def _reachable_upload(upload_id: str, session: DbSession, principal: Uploader) -> uploads.UploadState:
    try:
        state = uploads.load(upload_id)
    except uploads.UploadError as exc:
        raise _http(exc) from exc
    reachable_camera(session, principal, state.camera_id)
    return state


ReachableUpload = Annotated[uploads.UploadState, Depends(_reachable_upload)]


@router.head("/uploads/{upload_id}", status_code=status.HTTP_200_OK)
def head_upload(upload_id: str, state: ReachableUpload) -> Response:
    """Where to resume: Upload-Offset (bytes stored) and Upload-Length."""
    return Response(headers={**TUS, "Upload-Offset": str(state.offset), "Upload-Length": str(state.length),
                             "Cache-Control": "no-store"})


@router.get("/uploads/{upload_id}", response_model=UploadStatus)
def get_upload(upload_id: str, state: ReachableUpload) -> dict[str, Any]:
    """The upload's progress and, once complete, its import result."""
    return state.to_dict()


@router.patch("/uploads/{upload_id}", status_code=status.HTTP_204_NO_CONTENT,
              responses={409: {"description": "Upload-Offset does not match the bytes stored."}})
async def patch_upload(
    upload_id: str, request: Request, session: DbSession, principal: Uploader,
    upload_offset: Annotated[int, Header(ge=0, description="Where this chunk starts (the stored offset).")],
    content_type: Annotated[str | None, Header()] = None,
) -> Response:
    """Append a chunk; after the last byte the file is imported (result at GET /uploads/{id})."""
    state = await run_in_threadpool(_reachable_upload, upload_id, session, principal)
    if (content_type or "").split(";")[0].strip().lower() != "application/offset+octet-stream":
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            "send chunks with Content-Type: application/offset+octet-stream", headers=TUS)
    try:
        offset, hasher = await uploads.append_chunk(state, upload_offset, request.stream())
    except uploads.UploadError as exc:
        raise _http(exc) from exc
    if offset == state.length:
        # One request, in any service process, wins the right to import; a racing or repeated last PATCH is told
        # the upload is being imported instead of starting a second import.
        if not await run_in_threadpool(uploads.claim_import, state.id):
            raise _http(uploads.UploadImporting("every byte of this upload is in and it is being imported; its "
                                                f"result will be at GET /api/v1/uploads/{state.id}"))
        part = uploads.part_path(state.id)
        sha256 = hasher.hexdigest()
        uploads.received(state, sha256)
        try:
            result = await run_in_threadpool(ingest_upload, session, part, sha256, offset, state.camera_id,
                                             state.filename, state.start, principal.name, client_addr(request))
        except Exception:
            # Tell whoever polls GET /uploads/{id} that this upload is over, then let the error be logged.
            uploads.finish(state, {"path": state.filename, "status": "refused", "segment_id": None,
                                   "camera": state.camera_id, "start": None, "end": None, "sha256": sha256,
                                   "error": "the service failed while importing this file; upload it again"},
                           sha256)
            raise
        uploads.finish(state, result.to_dict(), sha256)
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers={**TUS, "Upload-Offset": str(offset)})
