from serrules.audio.loading import AudioError, write_audio_index
from serrules.base.script_logging import exit_on_input_error, start_job

start_job(snakemake)
with exit_on_input_error(AudioError):
    write_audio_index(
        snakemake.input.utterances,
        snakemake.output[0],
        on_error=snakemake.params.on_error,
        sample_rate=int(snakemake.params.sample_rate),
    )
