DROP TABLE assessment_reports;
