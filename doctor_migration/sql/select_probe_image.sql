-- The trigger probe's image: what the probe writes to its row.
SELECT before FROM probe_images;
