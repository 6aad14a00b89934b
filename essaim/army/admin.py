from django.contrib import admin

from essaim.army.models import RoleAssignment, Volunteer, VolunteerRole


@admin.register(VolunteerRole)
class VolunteerRoleAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "position", "is_open")
    list_editable = ("position", "is_open")


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    fields = ("role", "stage", "stage_changed_at", "stage_changed_by", "last_accepted_work_at")
    readonly_fields = fields


@admin.register(Volunteer)
class VolunteerAdmin(admin.ModelAdmin):
    list_display = ("user", "first_name", "departement", "weekly_hours", "created_at")
    list_filter = ("departement",)
    raw_id_fields = ("user", "contact")
    inlines = (RoleAssignmentInline,)
