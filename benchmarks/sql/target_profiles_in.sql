COPY public.profiles (id, legacy_user_id, first_name, last_name, email, profile_type) FROM STDIN
