-- A merge step: the folded person's verified number goes to the survivor, unless the survivor has
-- one of its own. Cleared first, since a number belongs to one person (people_phone_key).
create or replace function move_phone_on_merge(p_survivor uuid, p_folded uuid) returns void
language plpgsql as $$
declare
  folded people%rowtype;
begin
  select * into folded from people where id = p_folded;
  if folded.phone_pure_number is null then
    return;
  end if;
  update people set phone_number = null, phone_pure_number = null, phone_country_code = null,
                    phone_verified_at = null
   where id = p_folded;
  update people set phone_number = folded.phone_number, phone_pure_number = folded.phone_pure_number,
                    phone_country_code = folded.phone_country_code, phone_verified_at = folded.phone_verified_at
   where id = p_survivor and phone_pure_number is null;
end
$$;
