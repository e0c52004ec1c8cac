"""Private files: storage, upload checks and the stored-file rows every feature shares."""
