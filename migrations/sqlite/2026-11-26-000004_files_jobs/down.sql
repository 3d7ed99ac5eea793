DROP TABLE remembered_mappings;
DROP TABLE jobs;
DROP TABLE files;
