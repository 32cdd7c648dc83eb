SELECT action, count(*) AS doctors
FROM pg_temp.doctor_changes
GROUP BY action;
