"""The codebook loop: the codebook file read back, decisions applied, frameworks, .qdc imports."""
