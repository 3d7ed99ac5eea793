DROP TABLE folder_marks;
