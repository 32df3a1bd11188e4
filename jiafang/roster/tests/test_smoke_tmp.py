def test_x(district, login):
    c = login(district.users["coordinator_a"])
    r = c.get("/roster/%d/" % district.school_a.pk)
    print(r.status_code, r.headers.get("Location"))
