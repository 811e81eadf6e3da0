"""Words and number formats of the dashboard and reports: Vietnamese first, English on request."""

from datetime import date, datetime, timedelta, timezone
from typing import Any

LANGS = ("vi", "en")
LOCAL = timezone(timedelta(hours=7), "UTC+7")
"""Vietnam's time (no daylight saving since 1975): the zone the known_at picker is read and shown in."""
DOCS = {
    "CT": ("Nghị quyết 09-NQ/TU của Thành ủy Cần Thơ (29/12/2021) về đào tạo, xây dựng đội ngũ cán bộ 2021–2025",
           "Resolution 09-NQ/TU of the Cần Thơ city party committee (29 Dec 2021) on training leaders 2021-2025"),
    "ST": ("Nghị quyết Đảng bộ tỉnh Sóc Trăng khóa XIV về phát triển nguồn nhân lực 2021–2025, tầm nhìn 2030",
           "Resolution of the Sóc Trăng provincial party committee (term XIV) on human resources 2021-2025, vision 2030"),
    "QH": ("Quy hoạch cán bộ: Quy định 50-QĐ/TW (27/12/2021), thay bằng Quy định 377-QĐ/TW (08/10/2025)",
           "Planning pools: Quy định 50-QĐ/TW (27 Dec 2021), replaced by Quy định 377-QĐ/TW (8 Oct 2025)"),
}
TEXT: dict[str, tuple[str, str]] = {
    "app": ("Sổ đăng ký cán bộ, công chức, viên chức", "Registry of public-sector personnel"),
    "dashboard": ("Bảng theo dõi chỉ tiêu nghị quyết", "Resolution targets dashboard"),
    "skip": ("Bỏ qua, đến nội dung chính", "Skip to main content"),
    "sign_in": ("Đăng nhập", "Sign in"),
    "sign_out": ("Đăng xuất", "Sign out"),
    "token": ("Mã truy cập (API token)", "Access token (API token)"),
    "token_help": ("Dùng mã do quản trị viên cấp; quyền và phạm vi đơn vị giống hệt khi gọi API.",
                   "Use the token an administrator issued; the same role and org-unit scope as the API."),
    "signed_in_as": ("Đăng nhập với", "Signed in as"),
    "role": ("vai trò", "role"),
    "bad_token": ("Mã truy cập không hợp lệ, đã thu hồi hoặc hết hạn.", "Unknown, revoked or expired token."),
    "bad_form": ("Biểu mẫu đã hết hạn, vui lòng thử lại.", "The form expired; please try again."),
    "resolution": ("Nghị quyết", "Resolution"),
    "org_unit": ("Đơn vị", "Org unit"),
    "as_of": ("Tính đến ngày", "As of"),
    "known_at": ("Dữ liệu ghi nhận đến", "Data as recorded at"),
    "known_at_help": ("Giờ Việt Nam (UTC+7). Để trống: dữ liệu hiện tại.",
                      "Vietnam time (UTC+7). Empty: the data as it stands now."),
    "zone": ("giờ Việt Nam, UTC+7", "Vietnam time, UTC+7"),
    "as_of_help": ("Để trống: thời hạn gần nhất đã đến của chỉ tiêu, nếu chưa có thì ngày 31/12 gần nhất.",
                   "Empty: the targets' latest deadline passed, else the last 31 December."),
    "as_of_defaulted": ("Ngày mặc định {day}: thời hạn gần nhất đã đến (không sau hôm nay) của {what}; nếu chưa có thời "
                        "hạn nào đến, ngày 31/12 gần nhất.",
                        "Default date {day}: the latest deadline on or before today of {what}; when none has come, "
                        "the last 31 December."),
    "this_target": ("chỉ tiêu này", "this target"),
    "these_targets": ("các chỉ tiêu của nghị quyết", "the resolution's targets"),
    "show": ("Xem", "Show"),
    "language": ("Ngôn ngữ", "Language"),
    "other_lang": ("English", "Tiếng Việt"),
    "downloads": ("Tải báo cáo", "Download report"),
    "summary": ("Tóm tắt", "Summary"),
    "met": ("Đạt", "Met"),
    "not_met": ("Chưa đạt", "Not met"),
    "no_data": ("Chưa có số liệu", "No data"),
    "qualitative": ("Định tính, không chấm điểm", "Qualitative, not scored"),
    "targets": ("Các chỉ tiêu", "Targets"),
    "target": ("Chỉ tiêu", "Target"),
    "status": ("Kết quả", "Status"),
    "value": ("Giá trị hiện tại", "Current value"),
    "band": ("Mục tiêu", "Target band"),
    "gap": ("Khoảng cách đến mục tiêu", "Gap to the band"),
    "deadline": ("Thời hạn", "Deadline"),
    "chart": ("Biểu đồ", "Chart"),
    "count": ("Số người", "Persons"),
    "lagging_units": ("Đơn vị trực thuộc: số chỉ tiêu chưa đạt", "Child units: targets not met"),
    "lagging_help": ("Xếp từ đơn vị chậm nhất; chỉ tính chỉ tiêu có số liệu ở đơn vị đó.",
                     "Slowest first; counts only targets with data at that unit."),
    "matrix": ("Kết quả theo đơn vị trực thuộc", "Results by child unit"),
    "matrix_help": ("Mỗi ô: kết quả của chỉ tiêu tại đơn vị (kể cả các đơn vị cấp dưới của nó).",
                    "Each cell: the target's result at that unit (and everything below it)."),
    "no_children": ("Đơn vị này không có đơn vị trực thuộc vào ngày đã chọn.", "This unit has no child units on that date."),
    "details": ("Chi tiết", "Details"),
    "definition": ("Định nghĩa và căn cứ", "Definition and source"),
    "source_clause": ("Căn cứ", "Source"),
    "clause": ("mục", "clause"),
    "method": ("Cách tính", "How it is computed"),
    "rules": ("Quy tắc chung", "Rules"),
    "rules_text": ("Tính đến ngày D: bản ghi có thời hạn được tính khi bắt đầu ≤ D ≤ kết thúc (ngày kết thúc được tính); "
                   "văn bằng cấp vào hoặc trước D; đơn vị và mọi đơn vị cấp dưới theo cơ cấu tại ngày D; mỗi người "
                   "chỉ tính một lần.", ""),
    "source_words": ("Diễn giải gốc (tiếng Anh)", "Source wording"),
    "note": ("Ghi chú", "Note"),
    "definition_version": ("Phiên bản định nghĩa", "Definition version"),
    "data_version": ("Phiên bản dữ liệu", "Data version"),
    "generated_at": ("Lập lúc", "Generated at"),
    "parameters": ("Tham số", "Parameters"),
    "trend": ("Diễn biến cuối các năm", "Trend at year-ends"),
    "trend_help": ("Giá trị ngày 31/12 từng năm từ 2021 đến thời hạn; năm chưa kết thúc để trống.",
                   "Value on 31 December of each year from 2021 to the deadline; years not yet over are left empty."),
    "year_end": ("Cuối năm", "Year-end"),
    "not_yet": ("chưa đến", "not yet"),
    "breakdown": ("Theo đơn vị trực thuộc", "By child unit"),
    "breakdown_help": ("Bấm tiêu đề cột để sắp xếp.", "Select a column heading to sort."),
    "unit": ("Đơn vị", "Unit"),
    "numerator": ("Tử số", "Numerator"),
    "denominator": ("Mẫu số", "Denominator"),
    "persons": ("Danh sách người được tính", "Persons counted"),
    "persons_link": ("Xem danh sách người", "List the persons"),
    "external_id": ("Mã hồ sơ", "External id"),
    "full_name": ("Họ và tên", "Full name"),
    "in_numerator": ("Thuộc tử số", "In the numerator"),
    "why": ("Căn cứ xét", "Why"),
    "yes": ("Có", "Yes"),
    "no": ("Không", "No"),
    "back": ("Về bảng tổng hợp", "Back to the overview"),
    "sort_asc": ("tăng dần", "ascending"),
    "sort_desc": ("giảm dần", "descending"),
    "error": ("Không thể hiển thị", "Cannot show this"),
    "forbidden_detail": ("Vai trò của bạn chỉ được xem số liệu tổng hợp của chỉ tiêu này.",
                         "Your role sees only the aggregates of this target."),
    "pp_short": ("thiếu {} điểm %", "{} pp short"),
    "pp_over": ("vượt {} điểm %", "{} pp over"),
    "short": ("thiếu {}", "{} short"),
    "over": ("vượt {}", "{} over"),
    "must_exceed": ("cần vượt mức", "must exceed"),
    "within": ("trong khoảng", "within the band"),
    "tier_short": ("{}; có cấp chưa đạt", "{}; a tier is short"),
    "per": ("trên {} dân", "per {} inhabitants"),
    "page": ("Trang", "Page"),
    "reproduce": ("Lập lại báo cáo này với các tham số", "Reproduce this report with the parameters"),
    "none": ("không", "none"),
    "empty": ("Không có người nào.", "Nobody."),
    "units_met": ("{met}/{scored} đạt", "{met}/{scored} met"),
    "slowest": ("Chậm nhất", "Slowest"),
    "n_not_met": ("{n}/{m} chỉ tiêu chưa đạt", "{n} of {m} targets not met"),
    "n_targets": ("{} chỉ tiêu", "{} targets"),
    "quiet_targets": ("Không có số liệu ở đơn vị trực thuộc nào", "No value at any child unit"),
    "choose": ("Chọn và bấm Xem", "Choose, then Show"),
    # the person page
    "person": ("Hồ sơ cán bộ, công chức, viên chức", "Person record"),
    "birth_date": ("Ngày sinh", "Date of birth"),
    "gender": ("Giới tính", "Gender"),
    "ethnicity": ("Dân tộc", "Ethnicity"),
    "national_id": ("Số định danh cá nhân", "National id"),
    "party_member_since": ("Ngày vào Đảng", "Party member since"),
    "party_member_until": ("Ngày ra khỏi Đảng", "Party member until"),
    "general_education": ("Trình độ giáo dục phổ thông", "General education"),
    "redacted": ("Một số thông tin nhạy cảm được ẩn theo vai trò của bạn.",
                 "Some sensitive fields are withheld from your role."),
    "employments": ("Quá trình công tác", "Employments"),
    "positions": ("Chức vụ", "Positions"),
    "qualifications": ("Trình độ, văn bằng, chứng chỉ", "Qualifications"),
    "enrolments": ("Đào tạo, bồi dưỡng", "Enrolments in courses"),
    "category": ("Loại", "Category"),
    "occupation": ("Chức danh nghề nghiệp", "Occupation"),
    "primary": ("Chính", "Primary"),
    "start": ("Từ ngày", "From"),
    "end": ("Đến ngày", "Until"),
    "title": ("Chức vụ", "Title"),
    "rank": ("Cấp", "Rank"),
    "key_leader": ("Chủ chốt", "Key leader"),
    "kind": ("Loại", "Kind"),
    "level": ("Trình độ", "Level"),
    "field": ("Chuyên ngành, chi tiết", "Field, details"),
    "awarded_on": ("Ngày cấp", "Awarded on"),
    "source": ("Nguồn", "Source"),
    "awarded_by": ("cấp qua khóa {name} ({code})", "awarded by the course {name} ({code})"),
    "own_record": ("hồ sơ cá nhân", "the person's record"),
    "course": ("Khóa học", "Course"),
    "enrolment_status": ("Tình trạng", "Status"),
    "expected_completion": ("Dự kiến hoàn thành", "Expected completion"),
    "completed_on": ("Ngày hoàn thành", "Completed on"),
    "nothing": ("Không có.", "None."),
    "open_person": ("Xem hồ sơ", "Open the record"),
    # the unit training page
    "training": ("Đào tạo, bồi dưỡng của đơn vị", "Training of a unit"),
    "training_link": ("Đào tạo, bồi dưỡng", "Training"),
    "planning_pools": ("Quy hoạch cán bộ", "Planning pools"),
    "no_pools": ("Không có danh sách quy hoạch nào trong phạm vi của bạn.", "No planning pool within your org units."),
    "pool_check": ("Rà soát quy hoạch", "Planning pool check"),
    "pool_for": ("Quy hoạch cho chức danh", "Pool for the title"),
    "term": ("Nhiệm kỳ", "Term"),
    "candidates": ("Số nhân sự quy hoạch", "Candidates"),
    "violations": ("Vi phạm quy định", "Violations"),
    "no_violations": ("Danh sách quy hoạch đáp ứng mọi quy định được áp dụng.", "The pool holds every rule applied."),
    "rule": ("Quy định", "Rule"),
    "rule_source": ("Căn cứ", "Source"),
    "candidate": ("Nhân sự", "Candidate"),
    "detail": ("Chi tiết", "Detail"),
    "rules_applied": ("Quy định áp dụng tại ngày rà soát", "Rules applied on the date checked"),
    "rules_not_applied": ("Không áp dụng", "Not applied"),
    "year": ("Năm", "Year"),
    "courses": ("Các khóa học trong năm", "Courses running in the year"),
    "courses_help": ("Khóa do đơn vị, đơn vị cấp trên hoặc cấp dưới tổ chức, có thời gian học trong năm.",
                     "Courses organised by the unit, the units above it or below it, running in the year."),
    "organiser": ("Đơn vị tổ chức", "Organised by"),
    "provider": ("Cơ sở đào tạo", "Provider"),
    "hours": ("Số tiết", "Hours"),
    "awards": ("Văn bằng, chứng chỉ được cấp", "Awards"),
    "enrolment_counts": ("Người của đơn vị được cử đi học trong năm", "The unit's persons enrolled in the year"),
    "enrolment_counts_help": ("Theo khóa học và tình trạng; người đang công tác tại đơn vị hoặc đơn vị cấp dưới, có "
                              "ngày bắt đầu, dự kiến hoàn thành hoặc hoàn thành trong năm.",
                              "By course and status: persons employed at the unit or below it whose enrolment starts, "
                              "is expected to finish or finishes in the year."),
    "total": ("Tổng", "Total"),
    "counts_only": ("Vai trò của bạn chỉ xem số lượng, không xem danh sách người.",
                    "Your role sees the counts only, not who."),
    "course_hidden": ("khóa học ngoài phạm vi đơn vị của bạn", "a course outside your org units"),
    "not_for_role": ("Vai trò của bạn không được xem phần này.", "Your role may not see this part."),
    # the unit training page: needs against the plan
    "training_needs": ("Nhu cầu đào tạo, bồi dưỡng", "Training needs"),
    "needs_help": ("Người đang công tác tại đơn vị hoặc đơn vị cấp dưới chưa đạt tiêu chuẩn trình độ của chức vụ, chức "
                   "danh, ngạch đang giữ, tính đến ngày {day}; theo từng trình độ còn thiếu. «Đã cử đi học» là số người "
                   "đang học hoặc dự kiến học một khóa cấp trình độ đó, dự kiến hoàn thành không muộn hơn {end}.",
                   "Persons at the unit or below it who do not meet the qualification standard of the title, occupation "
                   "or category they hold, on {day}; by the level they miss. 'Enrolled' counts those planned or enrolled "
                   "in a course awarding that level, expected to finish by {end}."),
    "needs_now": ("Nhu cầu được tính theo dữ liệu hiện tại, không theo thời điểm ghi nhận đã chọn.",
                  "Needs are counted on the data as it stands now, not as recorded at the moment chosen."),
    "qualification": ("Trình độ", "Qualification"),
    "required_level": ("Mức yêu cầu", "Level required"),
    "persons_missing": ("Số người chưa đạt", "Persons missing it"),
    "enrolled_by_end": ("Đã cử đi học, xong trước cuối năm", "Enrolled to finish by the year's end"),
    "suppressed": ("ẩn", "hidden"),
    "suppressed_help": ("«ẩn»: nhóm có dưới {n} người. Với vai trò chỉ xem số lượng, số liệu của nhóm nhỏ được ẩn để không "
                        "thể nhận ra từng người.",
                        "'hidden': a group of fewer than {n} persons. For roles that see counts only, small groups are "
                        "hidden so that no one can be recognised in them."),
    "who_misses": ("Danh sách người chưa đạt", "Who misses it"),
    "held_to_required": ("{held} → {required}", "{held} → {required}"),
    "held_none": ("chưa có", "none"),
    "required_by": ("theo", "required by"),
    "by_rank": ("chức vụ", "the title"),
    "by_occupation": ("chức danh nghề nghiệp", "the occupation"),
    "by_category": ("loại cán bộ, công chức, viên chức", "the category"),
    "outside_units": ("{n} người khác thuộc đơn vị ngoài phạm vi của bạn không được liệt kê.",
                      "{n} more persons under units outside your reach are not listed."),
    "annual_plan": ("Kế hoạch đào tạo, bồi dưỡng năm", "Annual training plan"),
    "plan_help": ("Chỉ tiêu và kinh phí của kế hoạch; bên cạnh: số người của đơn vị đã cử đi học, đã hoàn thành, kinh phí "
                  "đã chi trong năm, và nhu cầu (số người còn thiếu trình độ mà dòng kế hoạch cấp) tính đến ngày {day}.",
                  "The plan's seats and budget; beside them: the unit's persons enrolled and completed, and the money "
                  "spent in the year, and the need (persons missing the level the line awards) on {day}."),
    "no_plan": ("Chưa ghi nhận kế hoạch cho năm này.", "No plan recorded for this year."),
    "plan_recorded_at": ("Kế hoạch ghi nhận lúc", "Plan recorded at"),
    "plan_workbook": ("Tải kế hoạch (XLSX)", "Download the plan (XLSX)"),
    "any_level": ("mọi khóa thuộc loại này", "any course of the kind"),
    "seats": ("Chỉ tiêu (người)", "Seats"),
    "budget": ("Kinh phí dự kiến", "Budget"),
    "enrolled": ("Đã cử đi học", "Enrolled"),
    "completed": ("Đã hoàn thành", "Completed"),
    "spent": ("Kinh phí đã chi", "Spent"),
    "need": ("Nhu cầu (người)", "Need (persons)"),
    "shortfalls": ("Chưa đạt", "Shortfalls"),
    "not_in_plan": ("Ngoài kế hoạch", "Not in the plan"),
    "seats_below_need": ("chỉ tiêu ít hơn nhu cầu {} người", "{} seats short of the need"),
    "enrolled_below_seats": ("cử đi học ít hơn chỉ tiêu {} người", "{} fewer enrolled than planned"),
    "completed_below_seats": ("hoàn thành ít hơn chỉ tiêu {} người", "{} fewer completed than planned"),
    # the indicator page: projection to the deadline, the gap and who closes it (planning.md)
    "projection": ("Dự báo đến hạn", "Projection to the deadline"),
    "projection_help": ("Từ sổ đăng ký như hiện có vào ngày {start}, mỗi người được đưa tiến đến từng mốc chỉ bằng các sự "
                        "kiện đã có ngày: tuổi, nghỉ hưu theo quy định, các bản ghi đã ghi sẵn ngày trong tương lai và, "
                        "tùy kịch bản, các khóa đào tạo dự kiến hoàn thành; không tính tuyển dụng hay nghỉ việc khác. "
                        "Mốc: ngày bắt đầu, ngày 31/12 mỗi năm và ngày kết thúc.",
                        "From the registry as it stands on {start}, every person is moved to each point by dated events "
                        "only: age, statutory retirement, records already dated in the future and, by the scenario, "
                        "the courses expected to be completed; no recruitment and no other departure. Points: the first "
                        "day, each 31 December and the last day."),
    "projection_now": ("Dự báo tính trên dữ liệu như hiện có, không theo thời điểm ghi nhận đã chọn.",
                       "The projection reads the data as it stands now, not as recorded at the moment chosen."),
    "scenario": ("Kịch bản đào tạo", "Training scenario"),
    "training_expected": ("Theo kế hoạch đào tạo", "As the training is planned"),
    "training_none": ("Không đào tạo thêm", "No further training"),
    "training_completion_rate": ("Theo tỷ lệ hoàn thành", "Weighed by the completion rate"),
    "projection_from": ("Dự báo từ ngày", "Project from"),
    "projection_from_help": ("Để trống: hôm nay.", "Empty: today."),
    "projection_to": ("Đến ngày", "To"),
    "projection_to_help": ("Để trống: thời hạn của chỉ tiêu.", "Empty: the target's deadline."),
    "show_projection": ("Tính dự báo", "Run the projection"),
    "deadline_passed": ("Thời hạn của chỉ tiêu ({deadline}) đã qua: dự báo đến thời hạn xa nhất của nghị quyết, {to}.",
                        "The target's deadline ({deadline}) has passed: projected to the resolution's farthest "
                        "deadline, {to}."),
    "no_horizon": ("Chỉ tiêu không có thời hạn sau ngày bắt đầu dự báo: hãy chọn ngày kết thúc.",
                   "The target has no deadline after the first day: choose the last day."),
    "no_projection": ("Chỉ tiêu này không có dự báo: chỉ dự báo các chỉ tiêu tỷ lệ, bình quân trên số dân và độ bao phủ "
                      "tính từ sổ đăng ký; chỉ tiêu đếm số lượt, số liệu báo cáo và chỉ tiêu định tính thì không.",
                      "This target has no projection: only ratios, per-capita figures and coverage computed from the "
                      "registry are projected; flow counts, reported statistics and qualitative targets are not."),
    "projection_aggregates": ("Chỉ tiêu dựa trên thông tin nhạy cảm (dân tộc, đảng viên, số định danh): vai trò của bạn "
                              "chỉ xem số liệu tổng hợp đã công bố, không xem dự báo và danh sách người.",
                              "A target defined on sensitive data (ethnicity, party membership, national id): your "
                              "role sees the published aggregates only, not the projection or the persons."),
    "projection_refused": ("Không thể dự báo với các tham số này", "Cannot project with these parameters"),
    "points": ("Các mốc dự báo", "Projected points"),
    "point": ("Mốc", "Point"),
    "projected_value": ("Giá trị dự báo", "Projected value"),
    "date": ("Ngày", "Date"),
    "deadline_mark": ("Thời hạn", "Deadline"),
    "at_the_end": ("Kết quả tại ngày {day}", "Result on {day}"),
    "events": ("Các sự kiện làm thay đổi số liệu", "The events that move the figures"),
    "events_help": ("Mỗi sự kiện thuộc mốc mà nó làm thay đổi; thay đổi của một người ghi ở sự kiện cuối cùng của người "
                    "đó trong khoảng giữa hai mốc.",
                    "Each event belongs to the point it moves; a person's change is on their last event between two "
                    "points."),
    "event": ("Sự kiện", "Event"),
    "event_persons": ("Số người", "Persons"),
    "effect": ("Tử số / mẫu số thay đổi", "Change of numerator / denominator"),
    "no_events": ("Không có sự kiện nào làm thay đổi số liệu.", "No event moves the figures."),
    "events_not_listed": ("Độ bao phủ đếm đơn vị, không đếm người: chỉ có các mốc, không có sự kiện.",
                          "A coverage counts units, not persons: the points are given, the events are not."),
    "assumptions": ("Giả định", "Assumptions"),
    "completion_rates": ("Tỷ lệ hoàn thành trước đây của đơn vị theo loại khóa học",
                         "The unit's historic completion rates by course kind"),
    "completion_rates_help": ("Hoàn thành / (hoàn thành + không đạt + bỏ học); loại khóa chưa có ai kết thúc tính 100 %.",
                              "Completed / (completed + failed + withdrawn); a course kind nobody has finished counts "
                              "as 100%."),
    "gap_title": ("Khoảng cách và người có thể bù đắp", "The gap and who closes it"),
    "gap_help": ("Tại ngày {day}, theo kịch bản đã chọn: số người của tập hợp dự báo cần đạt thêm điều kiện để đạt mục tiêu, "
                 "và những người chưa đạt có thể bù đắp, người gần đạt và đã được cử đi học xếp trước.",
                 "On {day}, in the scenario chosen: how many more persons of the projected population must meet the "
                 "condition for the target to be met, and who can, the closest and those already enrolled first."),
    "needed": ("Số người cần đạt thêm", "More persons needed"),
    "needed_none": ("không có mức sàn phải đạt", "no floor to reach"),
    "closable": ("Có thể bù đắp bằng đào tạo", "Closable by training"),
    "closed_by": ("Cần bù đắp bằng", "Closed by"),
    "gap_candidates": ("Người có thể bù đắp bằng đào tạo", "Who can close it by training"),
    "candidates_count": ("Số người có thể bù đắp bằng đào tạo", "Persons who can close it by training"),
    "candidates_enrolled": ("trong đó đã được cử đi học", "of whom enrolled"),
    "beyond_training": ("Người chưa đạt vì lý do đào tạo không thay đổi được", "Persons short for a reason training "
                                                                                "cannot change"),
    "lacks": ("Còn thiếu", "Lacks"),
    "held": ("hiện có", "holds"),
    "required": ("yêu cầu", "required"),
    "short_by": ("thiếu {} bậc", "{} levels short"),
    "covered_by": ("sẽ đạt qua khóa {course}, dự kiến hoàn thành {day} ({status})",
                   "covered by the course {course}, expected to finish {day} ({status})"),
    "not_covered": ("chưa có khóa học nào bù đắp", "no course covers it yet"),
    "order": ("Thứ tự", "Rank"),
    "no_gap": ("Không có khoảng cách theo người cho chỉ tiêu này", "No gap in persons for this target"),
    "projection_sheet": ("Dự báo", "Projection"),
    "projection_report_help": ("Các chỉ tiêu tỷ lệ, bình quân trên số dân và độ bao phủ có thời hạn từ ngày {start} trở "
                               "đi, dự báo từ ngày {start} đến thời hạn theo kịch bản «{scenario}», trên dữ liệu như hiện "
                               "có lúc lập báo cáo (không theo thời điểm ghi nhận của báo cáo); «số người cần đạt thêm» "
                               "là khoảng cách tại thời hạn.",
                               "The ratio, per-capita and coverage targets whose deadline is on or after {start}, "
                               "projected from {start} to the deadline in the scenario '{scenario}', on the data as it "
                               "stands when the report is made (not as recorded at the report's moment); 'more persons "
                               "needed' is the gap on the deadline."),
    "no_projected_targets": ("Không có chỉ tiêu nào có thời hạn từ ngày {start} trở đi để dự báo.",
                             "No target has a deadline on or after {start} to project."),
    "status_at_deadline": ("Kết quả dự báo tại thời hạn", "Projected status at the deadline"),
    "value_at_deadline": ("Giá trị dự báo tại thời hạn", "Projected value at the deadline"),
}


ROLES = {
    "admin": ("quản trị viên", "administrator"),
    "hr_officer": ("cán bộ tổ chức, nhân sự", "HR officer"),
    "auditor": ("kiểm tra, giám sát", "auditor"),
    "integration": ("tích hợp hệ thống", "system integration"),
}


def role(code: str, lang: str) -> str:
    """A token's role in words (the code itself for a role this table does not name)."""
    names = ROLES.get(code)
    return (names[1] if lang == "en" else names[0]) if names else code


def t(key: str, lang: str) -> str:
    """The text for `key` in `lang` (Vietnamese when an English text is missing)."""
    vi, en = TEXT[key]
    return en if lang == "en" and en else vi


def doc_name(doc: str, lang: str) -> str:
    names = DOCS.get(doc)
    return (names[1] if lang == "en" else names[0]) if names else doc


def number(value: float, lang: str, places: int = 1) -> str:
    """1234.5 -> '1.234,5' (vi) or '1,234.5' (en)."""
    text = f"{value:,.{places}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".") if lang == "vi" else text


def percent(share: float, lang: str, places: int = 1) -> str:
    return number(share * 100, lang, places) + (" %" if lang == "vi" else "%")


def day(value: date | str | None, lang: str) -> str:
    if value is None:
        return "—"
    parsed = date.fromisoformat(value) if isinstance(value, str) else value
    return parsed.strftime("%d/%m/%Y") if lang == "vi" else parsed.isoformat()


def moment(value: datetime | str | None, lang: str) -> str:
    if value is None:
        return "—"
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.strftime("%d/%m/%Y %H:%M:%S UTC" if lang == "vi" else "%Y-%m-%d %H:%M:%S UTC")


def local_moment(value: datetime, lang: str) -> str:
    """A moment in Vietnam's time (UTC+7), as the picker reads it."""
    shown = value.astimezone(LOCAL)
    return shown.strftime("%d/%m/%Y %H:%M:%S" if lang == "vi" else "%Y-%m-%d %H:%M:%S") + f" ({t('zone', lang)})"


def pick(names: dict[str, Any], lang: str) -> str:
    """A name in `lang`, falling back to Vietnamese."""
    return str(names.get(lang) or names.get("vi") or next(iter(names.values()), ""))
