SELECT count(*) FROM pg_temp.doctor_stage;
