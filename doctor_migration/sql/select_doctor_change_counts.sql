SELECT action, count(*) AS doctors
FROM doctor_changes
GROUP BY action;
