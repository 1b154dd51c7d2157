"""Writing video: the containers and encoder settings, the audio stream copied (re-encoded only
where the container cannot take it), and the encoder flushed at the end."""
import logging

log = logging.getLogger("video")

CONTAINERS = {"mp4": ("libx264", "yuv420p", {"aac", "mp3", "ac3", "opus", "alac", "flac"}, "aac"),
              "webm": ("libvpx-vp9", "yuv420p", {"opus", "vorbis"}, "libopus")}


# Encoder settings: near-transparent quality at a fast preset, measured on 1280×720 test clips
# (bench/bench_video.py). x264's default (medium) took as long per frame as the net on 2 cores;
# veryfast at CRF 18 with a diamond search, one subpixel pass and superfast's partitions costs 7 ms
# of CPU a frame on the pan clip against veryfast's 14 (19 against 35 on the grainy still shot),
# files at most 4 % larger, PSNR within 0.15 dB. One thread: the net's BLAS threads already hold
# every core, and x264's frame threads, running behind them, slowed the next batch more than they
# saved (video ÷ stills 81–86 % against 84–90 %).
ENCODER_OPTIONS = {"libx264": {"preset": "veryfast", "crf": "18",
                               "x264-params": "subme=1:me=dia:partitions=i8x8,i4x4:threads=1"},
                   "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "crf": "24", "b": "0"}}


def audio_stream(writer, audio, allowed, fallback):
    """(output stream, whether it re-encodes): copied where the container takes the codec."""
    if audio is None:
        return None
    if audio.codec_context.name in allowed:
        return writer.add_stream_from_template(audio), False
    log.info("audio %s cannot go into this container as it is; re-encoding it", audio.codec_context.name)
    import av
    codec = av.Codec(fallback, "w")
    rates = codec.audio_rates or []
    rate = audio.codec_context.sample_rate
    if rates and rate not in rates:  # Opus takes 48 kHz and a few lower rates only
        rate = max(rates)
    stream = writer.add_stream(fallback, rate=rate)
    channels = audio.codec_context.layout.nb_channels
    # A layout with no channel order ("1 channels") makes encoders refuse it: name the usual one.
    stream.layout = {1: "mono", 2: "stereo"}.get(channels, audio.codec_context.layout.name)
    stream.format = codec.audio_formats[0].name
    return stream, True


def copy_audio(packet, writer, out_audio, audio, start, end):
    if out_audio is None:
        return
    out_audio, transcode = out_audio
    time = float(packet.pts * audio.time_base) if packet.pts is not None else 0.0
    if time < start - 1e-6 or (end is not None and time >= end - 1e-6):
        return
    shift = int(round(start / audio.time_base))
    if transcode:
        for frame in packet.decode():
            frame.pts = frame.pts - shift if frame.pts is not None else None
            writer.mux(out_audio.encode(frame))
        return
    packet.pts -= shift
    packet.dts -= shift
    packet.stream = out_audio
    writer.mux(packet)


def finish_streams(writer, out_video, out_audio):
    writer.mux(out_video.encode(None))
    if out_audio is not None and out_audio[1]:
        writer.mux(out_audio[0].encode(None))
