COPY floor_clean FROM STDIN
