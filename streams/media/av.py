"""Video and audio with Debian's ffmpeg: duration, a poster frame, and a copy every browser plays.

Video becomes H.264 (High, yuv420p, at most 1280 pixels wide) with AAC audio in an MP4 whose
index is at the front (`+faststart`: playback starts before the download ends); audio
becomes AAC in an M4A. Global, per-stream and chapter metadata are dropped
(`-map_metadata -1`): phones write the place a video was shot into it. The poster is the
frame at one second (or the middle of a shorter video), and goes through the image path
for its sizes and BlurHash.

ffmpeg parses hostile input: it runs with no stdin, one thread, a time limit, and on a
file in a private temporary directory; its failure to decode is the file's fault (CORRUPT).
Without ffmpeg (`AvMaker.find` finds none), video and audio are served as uploaded.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from media.errors import MediaError
from media.settings import MediaSettings
from schemas.models import MediaErrorCode

VIDEO_ARGS = [
    *("-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"),
    *("-profile:v", "high", "-vf", "scale='min(1280,iw)':-2"),
]
AUDIO_ARGS = ["-c:a", "aac", "-b:a", "128k", "-ac", "2"]
CLEAN_ARGS = ["-map_metadata", "-1", "-map_metadata:s", "-1", "-map_chapters", "-1"]
CLEAN_ARGS += ["-movflags", "+faststart", "-threads", "1"]


@dataclass(frozen=True)
class Probe:
    duration_ms: int | None
    width: int | None
    height: int | None
    has_video: bool
    has_audio: bool


class AvMaker:
    def __init__(self, settings: MediaSettings, ffmpeg: str, ffprobe: str) -> None:
        self.settings = settings
        self.ffmpeg = ffmpeg
        self.ffprobe = ffprobe

    @classmethod
    def find(cls, settings: MediaSettings) -> AvMaker | None:
        """The maker, or None when ffmpeg or ffprobe is not installed."""
        ffmpeg, ffprobe = shutil.which(settings.ffmpeg), shutil.which(settings.ffprobe)
        return None if ffmpeg is None or ffprobe is None else cls(settings, ffmpeg, ffprobe)

    def probe(self, source: Path) -> Probe:
        describe = ["-print_format", "json", "-show_format", "-show_streams"]
        output = self._run([self.ffprobe, "-v", "error", *describe, str(source)])
        try:
            found = json.loads(output)
        except ValueError as e:
            raise MediaError(MediaErrorCode.CORRUPT, "ffprobe gave no description") from e
        streams = found.get("streams", [])
        video = next((s for s in streams if _is_video(s)), None)
        audio = any(s.get("codec_type") == "audio" for s in streams)
        duration = found.get("format", {}).get("duration")
        width, height = _display_size(video) if video else (None, None)
        return Probe(
            duration_ms=round(float(duration) * 1000) if duration not in (None, "N/A") else None,
            width=width,
            height=height,
            has_video=video is not None,
            has_audio=audio,
        )

    def poster(self, source: Path, probe: Probe, out: Path) -> Path:
        """A PNG of the frame at 1 s, or at the middle of a shorter video."""
        seconds = min(1.0, (probe.duration_ms or 0) / 2000)
        self._ffmpeg(["-ss", f"{seconds:.3f}", "-i", str(source), "-frames:v", "1", str(out)])
        if not out.exists():
            raise MediaError(MediaErrorCode.CORRUPT, "the video has no frame to show")
        return out

    def playable_video(self, source: Path, probe: Probe, out: Path) -> Path:
        audio = ["-map", "0:a:0", *AUDIO_ARGS] if probe.has_audio else ["-an"]
        args = ["-i", str(source), "-map", "0:v:0", *VIDEO_ARGS, *audio, "-sn", "-dn"]
        self._ffmpeg([*args, *CLEAN_ARGS, "-f", "mp4", str(out)])
        return out

    def playable_audio(self, source: Path, out: Path) -> Path:
        args = ["-i", str(source), "-map", "0:a:0", "-vn", "-sn", "-dn", *AUDIO_ARGS]
        self._ffmpeg([*args, *CLEAN_ARGS, "-f", "ipod", str(out)])
        return out

    def _ffmpeg(self, args: list[str]) -> None:
        self._run([self.ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args])

    def _run(self, argv: list[str]) -> str:
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                timeout=self.settings.transcode_timeout_s,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as e:
            reason = f"{Path(argv[0]).name} took over {self.settings.transcode_timeout_s:.0f} s"
            raise MediaError(MediaErrorCode.CORRUPT, reason) from e
        if done.returncode != 0:
            error = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["failed"]
            reason = f"{Path(argv[0]).name} cannot read it: {error[0][:200]}"
            raise MediaError(MediaErrorCode.CORRUPT, reason)
        return done.stdout.decode("utf-8", "replace")


def _is_video(stream: dict[str, object]) -> bool:
    """A video track, not cover art (an MP3's picture is a 'video' stream too)."""
    disposition = stream.get("disposition")
    attached = isinstance(disposition, dict) and disposition.get("attached_pic") == 1
    return stream.get("codec_type") == "video" and not attached


def _display_size(stream: dict[str, object]) -> tuple[int | None, int | None]:
    """Width and height as shown: a phone's portrait video is stored landscape and rotated."""
    width, height = stream.get("width"), stream.get("height")
    if not isinstance(width, int) or not isinstance(height, int):
        return None, None
    rotation = 0
    sides = stream.get("side_data_list")
    for side in sides if isinstance(sides, list) else []:
        if isinstance(side, dict) and isinstance(side.get("rotation"), int | float):
            rotation = int(side["rotation"])
    tags = stream.get("tags")
    rotate = str(tags.get("rotate", "0")) if isinstance(tags, dict) else "0"
    if not rotation and rotate.lstrip("-").isdigit():
        rotation = int(rotate)
    return (height, width) if rotation % 180 else (width, height)
