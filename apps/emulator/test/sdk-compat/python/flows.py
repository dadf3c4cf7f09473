"""The EyePop Python SDK 3.25.0, unchanged, driven through the flows of its README against the emulator.

Runs as a small server for the SDK-compatibility suite: each line on stdin is a JSON request
``{"id": n, "flow": NAME, "args": {...}}``; each answer is one JSON line on stdout,
``{"id": n, "ok": true, "result": ...}`` or ``{"id": n, "ok": false, "error": "<type>: <message>"}``.
The SDK's own log goes to stderr. Nothing here talks to the emulator except the SDK.
"""
import asyncio
import json
import sys
import traceback

from eyepop import EyePopSdk
from eyepop.worker.worker_types import Pop


def drain(job):
    """Every result of a job (an image gives one, a video or an image group several)."""
    results = []
    while (result := job.predict()) is not None:
        results.append(result)
    return results


def transient_default(url, api_key, image, image_url):
    """The README's quick start: ``sync_worker(api_key=...)`` on the default transient session."""
    with EyePopSdk.sync_worker(eyepop_url=url, api_key=api_key) as endpoint:
        uploaded = drain(endpoint.upload(image))
        loaded = drain(endpoint.load_from(image_url))
        with open(image, 'rb') as file:
            streamed = drain(endpoint.upload_stream(file, 'image/png'))
    return {'upload': uploaded, 'load_from': loaded, 'upload_stream': streamed}


def transient_pop(url, api_key, image, image_url, video):
    """``pop=Pop(components=[])``: a session of its own; single sources, image groups and a video."""
    with EyePopSdk.sync_worker(eyepop_url=url, api_key=api_key, pop=Pop(components=[])) as endpoint:
        single = drain(endpoint.upload(image))
        group = drain(endpoint.upload_group([image, image, image]))
        url_group = drain(endpoint.load_from_group([image_url, image_url]))
        with open(image, 'rb') as a, open(image, 'rb') as b:
            stream_group = drain(endpoint.upload_stream_group([a, b], ['image/png', 'image/png']))
        # A single video goes through prepareSource (the SDK simulates full-duplex HTTP).
        clip = drain(endpoint.upload(video))
    return {'upload': single, 'upload_group': group, 'load_from_group': url_group, 'upload_stream_group': stream_group, 'video': clip}


def async_worker(url, api_key, image, image_url):
    """``async_worker``: jobs queued together, results awaited."""
    async def run():
        async with EyePopSdk.async_worker(eyepop_url=url, api_key=api_key, pop=Pop(components=[])) as endpoint:
            jobs = [await endpoint.upload(image), await endpoint.load_from(image_url)]
            return [await job.predict() for job in jobs]
    return asyncio.run(run())


def secret_key_pop_id(url, secret_key, pop_id, image, image_url):
    """The legacy flow: ``secret_key`` + ``pop_id`` (``/authentication/token``, ``/pops/{id}/config``)."""
    with EyePopSdk.sync_worker(eyepop_url=url, secret_key=secret_key, pop_id=pop_id) as endpoint:
        return {'upload': drain(endpoint.upload(image)), 'load_from': drain(endpoint.load_from(image_url)), 'session': endpoint.session()}


def access_token(url, token, image, pop_id=None):
    """``access_token``: a transient worker (``/workers/config``), or a Pop's with ``pop_id``."""
    options = {'pop_id': pop_id} if pop_id else {}
    with EyePopSdk.sync_worker(eyepop_url=url, access_token=token, **options) as endpoint:
        return drain(endpoint.upload(image))


def persistent_session(url, api_key, session_uuid, image):
    """``session_uuid`` (``EYEPOP_SESSION_UUID``): a session opened beforehand, reached by its uuid."""
    with EyePopSdk.sync_worker(eyepop_url=url, api_key=api_key, session_uuid=session_uuid) as endpoint:
        return drain(endpoint.upload(image))


def many_connects(url, api_key, image_url, times, with_pop):
    """Connects, processes and disconnects ``times`` times; a server that kept every session would refuse."""
    results = 0
    for _ in range(times):
        options = {'pop': Pop(components=[])} if with_pop else {}
        with EyePopSdk.sync_worker(eyepop_url=url, api_key=api_key, **options) as endpoint:
            results += len(drain(endpoint.load_from(image_url)))
    return results


def data_endpoint(url, api_key=None, token=None):
    """``dataEndpoint`` with its WebSocket: ``/v1/configs`` with an API key, ``/configs`` with a token."""
    async def run():
        credentials = {'api_key': api_key} if api_key else {'access_token': token}
        endpoint = EyePopSdk.dataEndpoint(eyepop_url=url, is_async=True, disable_ws=False, **credentials)
        async with endpoint:
            # A refused WebSocket is closed by the emulator at once; give it the time to.
            await asyncio.sleep(0.3)
            ws = endpoint.ws
            return {'dataset_api_url': endpoint.dataset_api_url, 'ws_open': ws is not None and ws.state.name == 'OPEN'}
    return asyncio.run(run())


FLOWS = {f.__name__: f for f in [transient_default, transient_pop, async_worker, secret_key_pop_id, access_token, persistent_session, many_connects, data_endpoint]}


def main():
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = {'id': request['id'], 'ok': True, 'result': FLOWS[request['flow']](**request['args'])}
        except Exception as error:  # the SDK's own exception, reported as the user would see it
            traceback.print_exc(file=sys.stderr)
            answer = {'id': request['id'], 'ok': False, 'error': f'{type(error).__name__}: {error}'}
        print(json.dumps(answer), flush=True)


if __name__ == '__main__':
    main()
