"""Where the event loop stalls while a 10,000-training agent is published in a loop, in process.

The app runs on this process's event loop (as one `cuecard serve` worker does, with its
`gc.freeze()` and 1 ms GIL switch interval), and the big-agent rows' publish loop
(`run.py`'s `_PublishLoop`: upsert one training, publish, GET the new version's
runtime-config) goes through it by httpx's ASGI transport for `--seconds`. A coroutine beats
every millisecond; a watchdog thread takes the loop thread's stack whenever a beat is more than
`--late-ms` late and, once the loop beats again, how long it was held. Printed: how often and
how long in all, then the places that held it, longest first, with how often. When the loop's
own stack ends in the selector, the loop was ready but waited for the GIL: the line then says
"GIL held by" and gives the other threads' stacks as the watchdog found them once it had the GIL
(where the holder let go of it). The watchdog wakes every 0.5 ms and so competes for the GIL too:
compare runs of this script with each other, not with the served rows of `run.py`.

    .venv/bin/python bench/loop_lag.py [--seconds N] [--late-ms MS]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from pathlib import Path

import httpx
import seed


class Watchdog:
    def __init__(self, late_seconds: float) -> None:
        self.late = late_seconds
        self.beat = time.perf_counter()
        self.stalls: Counter[str] = Counter()
        self.longest: dict[str, float] = {}
        self.held: list[float] = []  # every stall's length
        self._loop_thread = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    async def beating(self) -> None:
        while not self._stop.is_set():
            self.beat = time.perf_counter()
            await asyncio.sleep(0.001)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.is_set():
            time.sleep(0.0005)
            beat = self.beat
            if time.perf_counter() - beat <= self.late:
                continue
            frame = sys._current_frames().get(self._loop_thread)
            stack = traceback.extract_stack(frame) if frame is not None else []
            where = _where(stack)
            if stack and stack[-1].name == "select":  # waiting for the GIL: who held it
                where = "GIL held by: " + (" | ".join(self._busy_threads()) or "?")
            while self.beat == beat and not self._stop.is_set():
                time.sleep(0.0005)
            held = time.perf_counter() - beat
            self.stalls[where] += 1
            self.longest[where] = max(self.longest.get(where, 0.0), held)
            self.held.append(held)

    def _busy_threads(self) -> list[str]:
        """Where the other threads are, but for those idle in a wait (the pool's spare ones)."""
        busy = []
        for ident, frame in sys._current_frames().items():
            if ident in (self._loop_thread, threading.get_ident()):
                continue
            stack = traceback.extract_stack(frame)
            if stack and stack[-1].name not in ("wait", "_worker"):
                busy.append(_where(stack))
        return busy


def _where(stack: traceback.StackSummary) -> str:
    """The innermost six frames of `stack`, innermost first."""
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(stack[-6:]))


async def publish_loop(big: seed.BigAgent, seconds: float, watchdog: Watchdog) -> int:
    from cuecard.app import create_app

    app = create_app()
    async with app.router.lifespan_context(app):
        gc.collect()
        gc.freeze()
        sys.setswitchinterval(0.001)
        agent = f"/api/v1/agents/{big.agent_id}"
        headers = {"Authorization": f"Bearer {big.token}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://cuecard", headers=headers, timeout=120
        ) as client:
            beating = asyncio.create_task(watchdog.beating())
            watchdog.start()
            rounds, until = 0, time.monotonic() + seconds
            while time.monotonic() < until:
                body = {"node_id": "big-00000", "subject": "Big", "instructions": f"{time.time()}"}
                answer = await client.post(agent + "/trainings", json=body)
                answer.raise_for_status()
                answer = await client.post(agent + "/publish")
                answer.raise_for_status()
                version = answer.json()["data"]["version"]
                answer = await client.get(f"{agent}/runtime-config?version={version}")
                answer.raise_for_status()
                rounds += 1
            watchdog.stop()
            await beating
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--late-ms", type=float, default=4.0)
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cuecard-loop-lag-"))
    url = f"sqlite:///{work / 'cuecard.db'}"
    dataset = seed.seed_base(url)
    big = seed.seed_big(dataset)
    os.environ.update(seed.cli_env(url))
    watchdog = Watchdog(options.late_ms / 1000)
    rounds = asyncio.run(publish_loop(big, options.seconds, watchdog))
    held = sorted(watchdog.held, reverse=True)
    print(
        f"{rounds} rounds in {options.seconds:g} s; loop held past {options.late_ms:g} ms "
        f"{len(held)} times, {sum(held):.2f} s in all, {sum(held) / max(rounds, 1) * 1000:.0f} ms "
        f"a round; the ten longest (ms): {', '.join(f'{h * 1000:.0f}' for h in held[:10])}"
    )
    for where, longest in sorted(watchdog.longest.items(), key=lambda item: -item[1])[:20]:
        print(f"  {watchdog.stalls[where]:4d} x, longest {longest * 1000:6.1f} ms  {where}")


if __name__ == "__main__":
    main()
